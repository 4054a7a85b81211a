"""A tiny seeded corpus of synthetic 'instrument' clips for trainer tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from soundsift.audio import write_audio
from soundsift.training.data.manifest import Entry, write_manifest

CLASSES = {"violin": (440, "saw"), "flute": (880, "sine"), "tuba": (110, "square"), "xylophone": (1320, "decay")}


def _wave(kind: str, freq: float, t: np.ndarray) -> np.ndarray:
    phase = 2 * np.pi * freq * t
    if kind == "saw":
        return 2 * ((freq * t) % 1) - 1
    if kind == "square":
        return np.sign(np.sin(phase))
    if kind == "decay":
        return np.sin(phase) * np.exp(-6 * (t % 0.25))
    return np.sin(phase)


def make_corpus(root: Path, clips_per_class: int = 3, seconds: float = 1.0, rate: int = 16000) -> Path:
    """Write train and test clips of every class plus a manifest; returns the corpus folder."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    entries = []
    for label, (freq, kind) in CLASSES.items():
        for i in range(clips_per_class):
            split = "test" if i == clips_per_class - 1 else "train"
            wave = 0.2 * _wave(kind, freq * (1 + 0.03 * i), t) + 0.01 * rng.standard_normal(t.size)
            rel = f"{split}/{label}-{i}.wav"
            write_audio(root / rel, wave[None].astype(np.float32), rate, "16")
            entries.append(Entry(path=rel, duration=seconds, sample_rate=rate, labels=(label,),
                                 caption=f"the sound of a {label}", category="music", split=split,
                                 group=f"{label}-{i}", source="synthetic", licence="CC0"))
    write_manifest(root / "manifest.jsonl", entries)
    return root
