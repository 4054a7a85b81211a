"""The spectral front end in numpy: STFT, inverse STFT and the mask projection, as the torch engine does them.

Mirrors :mod:`soundsift.model.frontend` (periodic Hann window, frames centred on
multiples of the hop with zero padding, inverse by windowed overlap-add divided by the
summed squared window) so that both engines give the same stems.  Spectra are laid out
``(..., frames, bins)`` here, the order the FFT writes them in; the network's
``(bins, frames)`` order is one transpose away.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from soundsift.core.config import STFTConfig
from soundsift.core.mask_shares import share_masks
from soundsift.core.stft_grid import frequency_taps, native_stft_size, time_taps

_ENVELOPE_FLOOR = 1e-11  # torch.istft's bound on the summed squared window


@functools.lru_cache(maxsize=32)
def hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window``'s default), float32."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft(wave: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Complex STFT. Shape: (N, samples) float32 -> (N, frames, n_fft // 2 + 1) complex64."""
    half = n_fft // 2
    padded = np.pad(wave, ((0, 0), (half, half)))
    frames = 1 + (padded.shape[-1] - n_fft) // hop_length
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop_length][:, :frames]
    return np.fft.rfft(windows * hann(n_fft), axis=-1)


def istft(spec: np.ndarray, n_fft: int, hop_length: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft`. Shape: (N, frames, bins) complex64 -> (N, length) float32."""
    count, frames = spec.shape[:2]
    taps = math.ceil(n_fft / hop_length)
    pieces = np.fft.irfft(spec, n=n_fft, axis=-1)
    pieces *= hann(n_fft)
    if taps * hop_length != n_fft:
        pieces = np.pad(pieces, ((0, 0), (0, 0), (0, taps * hop_length - n_fft)))
    pieces = pieces.reshape(count, frames, taps, hop_length)
    out = np.zeros((count, frames + taps - 1, hop_length), dtype=np.float32)
    for j in range(taps):
        out[:, j : j + frames] += pieces[:, :, j]
    start = n_fft // 2
    wave = out.reshape(count, -1)[:, start : start + length]
    wave /= _envelope(n_fft, hop_length, frames)[start : start + length]
    if wave.shape[-1] < length:
        wave = np.pad(wave, ((0, 0), (0, length - wave.shape[-1])))
    return wave


@functools.lru_cache(maxsize=8)
def _envelope(n_fft: int, hop_length: int, frames: int) -> np.ndarray:
    """Summed squared window of ``frames`` overlap-added frames (1 where it vanishes)."""
    taps = math.ceil(n_fft / hop_length)
    square = np.zeros(taps * hop_length, dtype=np.float32)
    square[:n_fft] = hann(n_fft) ** 2
    env = np.zeros((frames + taps - 1, hop_length), dtype=np.float32)
    for j, piece in enumerate(square.reshape(taps, hop_length)):
        env[j : j + frames] += piece
    env = env.reshape(-1)
    return np.where(env > _ENVELOPE_FLOOR, env, 1.0).astype(np.float32)


class GridProjector:
    """Carries masks from the model's STFT grid to the native-rate grid of one sample rate.

    Same interpolation as :class:`soundsift.model.frontend.MaskProjector` (weights from
    :mod:`soundsift.core.stft_grid`), applied as two-tap gathers instead of dense matrices.
    """

    def __init__(self, cfg: STFTConfig, sample_rate: int) -> None:
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.n_fft, self.hop_length = native_stft_size(cfg, sample_rate)
        self.freq, self.top = frequency_taps(cfg, sample_rate, self.n_fft)
        self.bins = self.n_fft // 2 + 1

    def bands(self, masks: np.ndarray, native_frames: int) -> MaskBands:
        """Shape: (Q, model bins, model frames) -> masks on the native frames, in two bands (see :class:`MaskBands`)."""
        t = time_taps(self.cfg, self.sample_rate, self.hop_length, masks.shape[-1], native_frames)
        rows = np.ascontiguousarray(masks.transpose(0, 2, 1))
        timed = rows[:, t.lo]
        timed += (rows[:, t.hi] - timed) * t.frac[:, None]
        low = np.take(timed, self.freq.lo, axis=-1)
        low += (np.take(timed, self.freq.hi, axis=-1) - low) * self.freq.frac
        return MaskBands(low, timed @ self.top)

    def project(self, masks: np.ndarray, native_frames: int) -> np.ndarray:
        """Shape: (Q, model bins, model frames) -> (Q, native frames, native bins)."""
        bands = self.bands(masks, native_frames)
        out = np.empty((masks.shape[0], native_frames, self.bins), dtype=np.float32)
        out[..., : bands.low.shape[-1]] = bands.low
        out[..., bands.low.shape[-1] :] = bands.top[..., None]
        return out


@dataclass(frozen=True)
class MaskBands:
    """Native-grid masks kept in two bands: interpolated bins up to the model's Nyquist
    frequency, and one value per frame above it, so the flat top band is never written out."""

    low: np.ndarray  # (Q, frames, bins below the model's Nyquist frequency)
    top: np.ndarray  # (Q, frames)

    def shares(self) -> MaskBands:
        """The same masks made shares of the input in every bin (:func:`share_masks`), as both engines apply them."""
        return MaskBands(share_masks(self.low), share_masks(self.top))

    def apply(self, spec: np.ndarray, query: int) -> np.ndarray:
        """One query's mask times a native spectrum. Shape: (N, frames, bins) complex -> same."""
        inside = self.low.shape[-1]
        out = np.empty_like(spec)
        np.multiply(spec[..., :inside], self.low[query], out=out[..., :inside])
        np.multiply(spec[..., inside:], self.top[query][:, None], out=out[..., inside:])
        return out
