"""A generated demo "personal library" for the fine-tuning guide and tests.

Sound types none of soundsift's data recipes make (frequency sweeps, mains hum, crackle,
hiss), one folder per type, 22.05 kHz WAV files named after what they hold, so that
``--captions filenames`` captions them.  Seeded: the same command writes the same bytes.

    python -m soundsift.training.finetune.demo OUT_DIR [--per-kind 8] [--seed 0]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile

from soundsift.cli_args import positive_int

RATE = 22_050


def _sweep(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.sin(2 * np.pi * (rng.uniform(300, 600) * t + 900 * t**2))


def _hum(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(50, 70)
    return sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6))


def _crackle(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    impulses = np.zeros_like(t)
    impulses[rng.integers(0, len(t), size=int(len(t) / RATE * 12))] = 1.0
    return np.convolve(impulses, np.exp(-np.arange(200) / 20) * rng.standard_normal(200), mode="same")


def _hiss(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.diff(rng.standard_normal(len(t)), prepend=0.0)


KINDS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "Sweep": _sweep, "MainsHum": _hum, "Crackle": _crackle, "Hiss": _hiss,
}


def make_library(root: Path, per_kind: int = 4, seed: int = 0, seconds: tuple[float, float] = (1.5, 2.5)) -> Path:
    """Write ``per_kind`` seeded files of each kind under ``root/<kind>s/<Kind>_NN.wav``; returns ``root``."""
    rng = np.random.default_rng(seed)
    for kind, make in KINDS.items():
        folder = root / f"{kind.lower()}s"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_kind):
            t = np.arange(int(RATE * rng.uniform(*seconds))) / RATE
            audio = make(t, rng)
            soundfile.write(folder / f"{kind}_{i:02d}.wav", (0.3 * audio / np.abs(audio).max()).astype(np.float32), RATE)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated demo library for soundsift finetune.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-kind", type=positive_int, default=8)
    parser.add_argument("--seconds", type=float, nargs=2, default=(4.0, 8.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_library(args.out, args.per_kind, args.seed, tuple(args.seconds))
    print(f"wrote {args.per_kind * len(KINDS)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
