"""Random changes to each training part before mixing, so the separator meets more timbres.

A part (a single source, or the sum of a part's sources) is played a little faster or
slower (pitch and tempo together, as a tape would: linear-interpolation resampling) and
passed through a smooth random equaliser (a zero-phase gain curve over frequency).  The
changed part is both what is mixed and the target, so the loss stays exact.  Held-out
SoundFonts and recordings differ from the train ones mostly in spectral balance and
tuning, which is what these two changes vary.  Seeded by the caller's
``np.random.Generator``; numpy only, a few milliseconds per part.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EQ_HARMONICS = 5


@dataclass(frozen=True)
class SourceAugmentation:
    """Ranges of the changes; 0 turns a change off.

    ``speed``: the playback rate is drawn from [1 - speed, 1 + speed].  ``eq_db``: the
    equaliser curve peaks at a random level up to this many dB (boost or cut).
    """

    speed: float = 0.0
    eq_db: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.speed < 0.5:
            raise ValueError(f"augment_speed must be in [0, 0.5), got {self.speed}")
        if not 0.0 <= self.eq_db <= 24.0:
            raise ValueError(f"augment_eq_db must be in [0, 24], got {self.eq_db}")

    @property
    def active(self) -> bool:
        """Whether any change is switched on."""
        return self.speed > 0.0 or self.eq_db > 0.0


def change_speed(audio: np.ndarray, rate: float) -> np.ndarray:
    """Play ``audio`` at ``rate`` times its speed; the result is cut or zero-padded to the input's length."""
    n = audio.shape[-1]
    positions = np.arange(n, dtype=np.float64) * rate
    inside = positions <= n - 1
    out = np.zeros_like(audio)
    out[..., inside] = np.interp(positions[inside], np.arange(n), audio)
    return out


def random_equaliser(bins: int, peak_db: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth gain curve over ``bins`` frequency bins (linear gain), at most ``peak_db`` dB from 0 dB.

    A few cosines over the square root of frequency (more detail at low frequencies), scaled
    so the largest deviation is a random fraction of ``peak_db``.
    """
    position = np.sqrt(np.linspace(0.0, 1.0, bins))
    harmonics = np.arange(1, _EQ_HARMONICS + 1)
    curve = (rng.standard_normal(_EQ_HARMONICS) / harmonics) @ np.cos(np.pi * harmonics[:, None] * position[None, :])
    curve *= rng.uniform(0.0, peak_db) / max(float(np.abs(curve).max()), 1e-9)
    return 10.0 ** (curve / 20.0)


def augment_part(audio: np.ndarray, aug: SourceAugmentation, rng: np.random.Generator) -> np.ndarray:
    """One part changed at random by ``aug``. Shape ``(samples,)`` kept; float32 out."""
    out = audio.astype(np.float64)
    if aug.speed > 0.0:
        out = change_speed(out, rng.uniform(1.0 - aug.speed, 1.0 + aug.speed))
    if aug.eq_db > 0.0:
        spectrum = np.fft.rfft(out)
        out = np.fft.irfft(spectrum * random_equaliser(spectrum.shape[-1], aug.eq_db, rng), n=out.shape[-1])
    return out.astype(np.float32)
