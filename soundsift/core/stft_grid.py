"""Where a model-rate mask lands on a native-rate STFT grid: sizes and interpolation taps, in numpy.

Shared by the torch front end (:class:`soundsift.model.frontend.MaskProjector`) and the
torch-free ONNX runtime, so that both engines carry masks onto the native grid by the same
numbers.  The native STFT uses the model STFT's frame and hop durations; a mask is
interpolated linearly over frequency and time, and above the model's Nyquist frequency each
frame takes the mean of the mask over the model's top octave (Nyquist/2 to Nyquist).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundsift.core.config import STFTConfig


@dataclass(frozen=True)
class Taps:
    """Two-tap linear interpolation: output ``i`` is ``(1 - frac[i]) * x[lo[i]] + frac[i] * x[hi[i]]``."""

    lo: np.ndarray
    hi: np.ndarray
    frac: np.ndarray

    @classmethod
    def at(cls, positions: np.ndarray, size: int) -> Taps:
        """Taps reading ``size`` samples at fractional ``positions`` (clipped to the ends)."""
        pos = np.clip(positions, 0, size - 1)
        lo = np.floor(pos).astype(np.int64)
        return cls(lo, np.minimum(lo + 1, size - 1), (pos - lo).astype(np.float32))

    def matrix(self, size: int) -> np.ndarray:
        """The same interpolation as a dense ``(outputs, size)`` float32 matrix."""
        matrix = np.zeros((self.lo.size, size), dtype=np.float32)
        rows = np.arange(self.lo.size)
        np.add.at(matrix, (rows, self.lo), 1 - self.frac)
        np.add.at(matrix, (rows, self.hi), self.frac)
        return matrix


def native_stft_size(cfg: STFTConfig, sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) at ``sample_rate`` with the same frame and hop durations as the model STFT."""
    ratio = sample_rate / cfg.sample_rate
    n_fft = max(16, 2 * round(cfg.n_fft * ratio / 2))
    hop = max(1, round(cfg.hop_length * ratio))
    return n_fft, min(hop, n_fft // 4)


def frequency_taps(cfg: STFTConfig, sample_rate: int, n_fft: int) -> tuple[Taps, np.ndarray]:
    """Interpolation taps of the native bins at or below the model's Nyquist frequency (a prefix
    of the native bins), and the ``(model bins,)`` top-octave mean weights every higher bin takes."""
    model_step = cfg.sample_rate / cfg.n_fft
    native_freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    nyquist = cfg.sample_rate / 2
    inside = native_freqs[native_freqs <= nyquist]
    top = np.arange(cfg.n_bins) * model_step >= nyquist / 2
    return Taps.at(inside / model_step, cfg.n_bins), (top / top.sum()).astype(np.float32)


def frequency_matrix(cfg: STFTConfig, sample_rate: int, n_fft: int) -> np.ndarray:
    """(native bins, model bins) weights: :func:`frequency_taps` as one dense float32 matrix."""
    taps, top = frequency_taps(cfg, sample_rate, n_fft)
    above = n_fft // 2 + 1 - taps.lo.size
    return np.concatenate([taps.matrix(cfg.n_bins), np.broadcast_to(top, (above, cfg.n_bins))])


def time_taps(cfg: STFTConfig, sample_rate: int, hop_length: int, model_frames: int, native_frames: int) -> Taps:
    """Linear interpolation of model frames at the centre time of each native frame."""
    times = np.arange(native_frames) * hop_length / sample_rate
    return Taps.at(times * cfg.sample_rate / cfg.hop_length, model_frames)
