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

import torch

from soundsift.core.config import STFTConfig
from soundsift.core.stft_grid import frequency_matrix, native_stft_size, time_taps

__all__ = ["MaskProjector", "istft", "log_magnitude", "native_stft_size", "stft"]


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


class MaskProjector:
    """Carries masks from the model's STFT grid to a native-rate STFT grid.

    Built once per (model STFT, native rate); :meth:`project` handles any frame counts.
    The interpolation weights come from :mod:`soundsift.core.stft_grid`, shared with the
    ONNX runtime.
    """

    def __init__(self, cfg: STFTConfig, sample_rate: int) -> None:
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.n_fft, self.hop_length = native_stft_size(cfg, sample_rate)
        self.freq_map = torch.from_numpy(frequency_matrix(cfg, sample_rate, self.n_fft))

    def _time_matrix(self, model_frames: int, native_frames: int) -> torch.Tensor:
        """(native frames, model frames) linear interpolation by frame centre time."""
        taps = time_taps(self.cfg, self.sample_rate, self.hop_length, model_frames, native_frames)
        return torch.from_numpy(taps.matrix(model_frames))

    def project(self, masks: torch.Tensor, native_frames: int) -> torch.Tensor:
        """Shape: (Q, model bins, model frames) -> (Q, native bins, native frames)."""
        time_map = self._time_matrix(masks.shape[-1], native_frames).to(masks.device)
        freq_map = self.freq_map.to(masks.device)
        return torch.einsum("kf,qft,lt->qkl", freq_map, masks, time_map)
