"""Differentiable band-limited resampling in plain torch, for the encoders' audio towers.

File I/O resamples with pedalboard (:func:`soundsift.audio.resample`); audio towers need a
resampler that gradients flow through (the weak-supervision loss back-propagates through
``encode_audio`` into the separator), so they use :func:`resample` here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resample(wave: torch.Tensor, sample_rate: int, target_rate: int) -> torch.Tensor:
    """Band-limited resampling through the real FFT (differentiable).

    The signal is treated as one period of a periodic signal, as in
    ``scipy.signal.resample``.  Shape: ``(n, samples)`` -> ``(n, round(samples * target / rate))``.
    """
    if sample_rate == target_rate:
        return wave
    samples = wave.shape[-1]
    length = max(1, round(samples * target_rate / sample_rate))
    spectrum = torch.fft.rfft(wave)
    bins = length // 2 + 1
    if bins <= spectrum.shape[-1]:
        spectrum = spectrum[..., :bins]
    else:
        spectrum = F.pad(spectrum, (0, bins - spectrum.shape[-1]))
    return torch.fft.irfft(spectrum, n=length) * (length / samples)
