"""Spectral front end: STFTs at the model rate and at the input's native rate, and the map
that carries a model-rate mask onto the native-rate STFT grid.

Masks are estimated at the model rate (16 kHz by default) on a mono downmix, then applied
to each channel's STFT at the native rate so that output keeps the input's bandwidth and
stereo image.  The native STFT uses the same frame duration and hop duration as the model
STFT (sizes scaled by the rate ratio).  The mask is interpolated linearly over frequency
and time.  Above the model's Nyquist frequency the mask has no estimate of its own; each
frame there takes the mean of the mask over the model's top octave (Nyquist/2 to Nyquist),
so that the high harmonics and air of a sound follow its upper partials.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from soundsift.model.config import STFTConfig


def stft(wave: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Complex STFT with a Hann window, frames centred on multiples of the hop.

    Shape: (N, samples) -> (N, n_fft // 2 + 1, frames).
    """
    window = _hann(n_fft, wave.device, wave.dtype)
    return torch.stft(
        wave, n_fft, hop_length, window=window, center=True, pad_mode="constant", return_complex=True
    )


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`. Shape: (N, bins, frames) -> (N, length)."""
    window = _hann(n_fft, spec.device, spec.real.dtype)
    return torch.istft(spec, n_fft, hop_length, window=window, center=True, length=length)


@functools.lru_cache(maxsize=32)
def _hann_cpu(n_fft: int, dtype: torch.dtype) -> torch.Tensor:
    # Made outside inference mode so the cached window also serves autograd (training) calls.
    with torch.inference_mode(False):
        return torch.hann_window(n_fft, dtype=dtype)


def _hann(n_fft: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return _hann_cpu(n_fft, dtype).to(device)


def log_magnitude(mag: torch.Tensor) -> torch.Tensor:
    """Network input features: log1p of the magnitude."""
    return torch.log1p(mag)


def native_stft_size(cfg: STFTConfig, sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) at ``sample_rate`` with the same frame and hop durations as the model STFT."""
    ratio = sample_rate / cfg.sample_rate
    n_fft = max(16, 2 * round(cfg.n_fft * ratio / 2))
    hop = max(1, round(cfg.hop_length * ratio))
    return n_fft, min(hop, n_fft // 4)


class MaskProjector:
    """Carries masks from the model's STFT grid to a native-rate STFT grid.

    Built once per (model STFT, native rate); :meth:`project` handles any frame counts.
    """

    def __init__(self, cfg: STFTConfig, sample_rate: int) -> None:
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.n_fft, self.hop_length = native_stft_size(cfg, sample_rate)
        self.freq_map = torch.from_numpy(self._frequency_matrix())

    def _frequency_matrix(self) -> np.ndarray:
        """(native bins, model bins) interpolation weights, top-octave mean above Nyquist."""
        model_bins = self.cfg.n_bins
        model_step = self.cfg.sample_rate / self.cfg.n_fft
        native_freqs = np.arange(self.n_fft // 2 + 1) * self.sample_rate / self.n_fft
        nyquist = self.cfg.sample_rate / 2
        matrix = np.zeros((native_freqs.size, model_bins), dtype=np.float32)
        inside = native_freqs <= nyquist
        pos = np.clip(native_freqs[inside] / model_step, 0, model_bins - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, model_bins - 1)
        frac = (pos - lo).astype(np.float32)
        rows = np.nonzero(inside)[0]
        np.add.at(matrix, (rows, lo), 1 - frac)
        np.add.at(matrix, (rows, hi), frac)
        top = np.arange(model_bins) * model_step >= nyquist / 2
        matrix[~inside] = top / top.sum()
        return matrix

    def _time_matrix(self, model_frames: int, native_frames: int) -> torch.Tensor:
        """(native frames, model frames) linear interpolation by frame centre time."""
        times = np.arange(native_frames) * self.hop_length / self.sample_rate
        pos = np.clip(times * self.cfg.sample_rate / self.cfg.hop_length, 0, model_frames - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, model_frames - 1)
        frac = (pos - lo).astype(np.float32)
        matrix = np.zeros((native_frames, model_frames), dtype=np.float32)
        rows = np.arange(native_frames)
        np.add.at(matrix, (rows, lo), 1 - frac)
        np.add.at(matrix, (rows, hi), frac)
        return torch.from_numpy(matrix)

    def project(self, masks: torch.Tensor, native_frames: int) -> torch.Tensor:
        """Shape: (Q, model bins, model frames) -> (Q, native bins, native frames)."""
        time_map = self._time_matrix(masks.shape[-1], native_frames).to(masks.device)
        freq_map = self.freq_map.to(masks.device)
        return torch.einsum("kf,qft,lt->qkl", freq_map, masks, time_map)
