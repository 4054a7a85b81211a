"""Band-limited resampling of one segment through the FFT, in numpy: how both engines make the model's input.

Each native-rate segment is mirrored at both ends (by at least 20 ms, and by a length that
maps to a whole number of output samples) and resampled by cutting or zero-extending its
spectrum, so the FFT's circular wrap falls outside the segment.  Against pedalboard's
windowed-sinc resampler (:func:`soundsift.audio.resample`, which file I/O keeps using) it
is an ideal low-pass at the lower Nyquist frequency with exact time alignment, at about
half the cost, which matters because it runs on every segment.
"""
from __future__ import annotations

import math

import numpy as np

MIRROR_SECONDS = 0.02


def resample_segment(wave: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Shape: ``(samples,)`` float32 -> ``(round(samples * target_rate / sample_rate),)`` float32."""
    if sample_rate == target_rate:
        return wave
    length = max(1, round(wave.size * target_rate / sample_rate))
    common = math.gcd(sample_rate, target_rate)
    step_in, step_out = sample_rate // common, target_rate // common
    units = min(math.ceil(MIRROR_SECONDS * sample_rate / step_in), (wave.size - 1) // step_in)
    padded = np.pad(wave, units * step_in, mode="reflect") if units > 0 else wave
    size = max(1, round(padded.size * target_rate / sample_rate))
    spectrum = np.fft.rfft(padded)
    bins = size // 2 + 1
    spectrum = spectrum[:bins] if bins <= spectrum.size else np.pad(spectrum, (0, bins - spectrum.size))
    out = np.fft.irfft(spectrum, n=size)[max(units, 0) * step_out :][:length] * (size / padded.size)
    return np.pad(out, (0, length - out.size)).astype(np.float32)
