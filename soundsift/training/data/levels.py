"""Loudness helpers for clips: RMS in dB, level normalisation, and the silence test.

Every recipe writes clips normalised the same way, so that mixing can set relative levels
by gains alone.  Arrays here are mono float32 ``(samples,)``.
"""
from __future__ import annotations

import numpy as np

TARGET_RMS_DB = -23.0
PEAK_LIMIT = 0.95
SILENCE_DB = -50.0
_FRAME_SECONDS = 0.05


def rms_db(audio: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for digital silence)."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def normalise(audio: np.ndarray, target_db: float = TARGET_RMS_DB, peak: float = PEAK_LIMIT) -> np.ndarray:
    """Scale to ``target_db`` RMS, then down if needed so no sample exceeds ``peak``."""
    level = rms_db(audio)
    if not np.isfinite(level):
        return audio.astype(np.float32)
    gain = 10.0 ** ((target_db - level) / 20.0)
    top = float(np.max(np.abs(audio))) * gain
    if top > peak:
        gain *= peak / top
    return (audio * gain).astype(np.float32)


def active_fraction(audio: np.ndarray, sample_rate: int, threshold_db: float = SILENCE_DB) -> float:
    """Fraction of 50 ms frames whose RMS is above ``threshold_db`` dBFS."""
    frame = max(1, int(_FRAME_SECONDS * sample_rate))
    n = len(audio) // frame
    if n == 0:
        return 0.0
    frames = audio[: n * frame].reshape(n, frame).astype(np.float64)
    power = np.mean(frames**2, axis=1)
    return float(np.mean(power > 10.0 ** (threshold_db / 10.0)))


def is_silent(audio: np.ndarray, sample_rate: int, min_active: float = 0.1) -> bool:
    """True when less than ``min_active`` of a normalised clip is above the silence threshold.

    Call it on clips normalised to :data:`TARGET_RMS_DB`, so the threshold sits a fixed
    distance below the clip's own level: a short blip in a long silence fails, a quiet but
    steady sound passes.
    """
    return active_fraction(audio, sample_rate) < min_active


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad at the end to exactly ``length`` samples."""
    if len(audio) >= length:
        return audio[:length]
    return np.pad(audio, (0, length - len(audio)))
