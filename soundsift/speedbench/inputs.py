"""Benchmark inputs: seeded stereo recordings of any length, written to disk block by block."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 44_100
CHANNELS = 2
_BLOCK_SECONDS = 10


def make_input(path: Path, seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> Path:
    """Write (once) a 16-bit stereo WAV of ``seconds``: notes that change every half second, plus noise."""
    if path.is_file() and soundfile.info(str(path)).frames == round(seconds * sample_rate):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    total = round(seconds * sample_rate)
    partial = path.with_name(f".{path.name}.partial")
    with soundfile.SoundFile(str(partial), "w", sample_rate, CHANNELS, "PCM_16", format="WAV") as out:
        for start in range(0, total, _BLOCK_SECONDS * sample_rate):
            length = min(_BLOCK_SECONDS * sample_rate, total - start)
            out.write(_block(rng, start, length, sample_rate).T)
    partial.replace(path)
    return path


def _block(rng: np.random.Generator, start: int, length: int, sample_rate: int) -> np.ndarray:
    """``(channels, length)`` float32: one random note per channel per half second, and quiet noise."""
    t = (start + np.arange(length)) / sample_rate
    note = np.floor(t * 2).astype(int)
    freqs = 110.0 * 2 ** (rng.integers(0, 36, size=(CHANNELS, note.max() - note.min() + 1)) / 12)
    phase = 2 * np.pi * freqs[:, note - note.min()] * t
    tone = 0.2 * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase))
    return (tone + 0.02 * rng.standard_normal((CHANNELS, length))).astype(np.float32)
