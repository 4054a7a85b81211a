"""A generated "personal library" and a tiny base model for the fine-tuning tests.

The library holds sound types none of soundsift's data recipes make (frequency sweeps,
mains hum, crackle, hiss), one folder per type, captioned only by their file names.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile

from soundsift.model import EncoderSpec, ModelConfig, init_model, save_checkpoint
from tests.conftest import TINY

RATE = 22_050  # not the model rate, so excerpts are resampled as a user's files would be


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


KINDS = {"Sweep": _sweep, "MainsHum": _hum, "Crackle": _crackle, "Hiss": _hiss}


def make_library(root: Path, per_kind: int = 4, seed: int = 0) -> Path:
    """Write ``per_kind`` seeded files of each kind under ``root/<kind>s/<Kind>_NN.wav``."""
    rng = np.random.default_rng(seed)
    for kind, make in KINDS.items():
        folder = root / f"{kind.lower()}s"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_kind):
            t = np.arange(int(RATE * rng.uniform(1.5, 2.5))) / RATE
            audio = make(t, rng)
            soundfile.write(folder / f"{kind}_{i:02d}.wav", (0.3 * audio / np.abs(audio).max()).astype(np.float32), RATE)
    return root


def make_compact_base(directory: Path, seed: int = 0) -> Path:
    """A tiny, untrained separator with the compact CLAP encoder (it has the audio tower the weak losses need)."""
    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact"), description="tiny base"),
                          seed=seed)
    return save_checkpoint(directory, net, enc)


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 and mode of every file under ``root`` (and the list of names), to prove nothing changed."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + f" {p.stat().st_mode:o}"
            for p in sorted(root.rglob("*")) if p.is_file()} | {"folders": " ".join(
                sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()))}
