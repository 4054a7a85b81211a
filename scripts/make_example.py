"""Build examples/mix.flac, the README's demo: held-out test clips of a violin (TimGM6mb, a
SoundFont no model trained on) and a man speaking (an unseen espeak-ng voice), side by side
in a stereo 44.1 kHz mix.

    python scripts/make_example.py --music data/music --speech data/speech -o examples/mix.flac
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from soundsift.audio import read_audio, resample, write_audio
from soundsift.training.data.manifest import corpus_root, read_manifest

RATE = 44100
CLIPS = 2  # consecutive test clips of each class, 4 s each


def test_clips(corpus: Path, label: str) -> list[Path]:
    """The first ``CLIPS`` test-split clips of ``label``, in manifest order."""
    root = corpus_root(corpus)
    paths = [root / e.path for e in read_manifest(corpus) if e.split == "test" and e.label == label and not e.stems]
    if len(paths) < CLIPS:
        raise SystemExit(f"{corpus}: fewer than {CLIPS} test clips of '{label}'")
    return paths[:CLIPS]


def track(paths: list[Path]) -> np.ndarray:
    """The clips one after another, mono at 44.1 kHz."""
    parts = []
    for path in paths:
        audio, rate = read_audio(path)
        parts.append(resample(audio.mean(axis=0, keepdims=True), rate, RATE)[0])
    return np.concatenate(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, required=True, help="music corpus (python -m research data music)")
    parser.add_argument("--speech", type=Path, required=True, help="speech corpus (python -m research data speech)")
    parser.add_argument("-o", "--out", type=Path, default=Path("examples/mix.flac"))
    args = parser.parse_args()
    violin, speech = track(test_clips(args.music, "violin")), track(test_clips(args.speech, "man speaking"))
    n = min(len(violin), len(speech))
    pan = {"violin": (0.8, 0.5), "speech": (0.5, 0.8)}  # left/right gains
    mix = np.stack([pan["violin"][c] * violin[:n] + pan["speech"][c] * speech[:n] for c in range(2)])
    mix *= 0.9 / max(1e-9, float(np.abs(mix).max()))
    write_audio(args.out, mix.astype(np.float32), RATE, bit_depth="16")
    print(f"wrote {args.out}: {n / RATE:.1f} s, stereo, {RATE} Hz")


if __name__ == "__main__":
    main()
