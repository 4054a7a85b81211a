"""Differentiable audio preparation for LAION-CLAP's audio tower, in plain torch.

LAION-CLAP's own preparation (``laion_clap.training.data.get_audio_features``) needs
torchaudio and torchvision and picks crops at random.  These functions compute the same
inputs with torch alone, deterministically, and keep gradients flowing to the waveform:

- :func:`soundsift.model.resample.resample` brings audio to the tower's 48 kHz;
- :func:`fit_to_clip` repeats short audio and pads it to the clip length ("repeatpad"),
  and takes the central clip of long audio (LAION crops at random);
- :func:`fusion_mel` builds the four-channel mel input of the fusion models: for audio
  up to the clip length the same mel four times; for longer audio the whole mel shrunk to
  clip length plus one chunk from the front, middle and back thirds (LAION picks each
  chunk at random within its third; here it is the middle of the third).

The mel matches torchaudio's ``MelSpectrogram(power=2, norm=None, mel_scale="htk",
center=True, pad_mode="reflect")`` followed by ``AmplitudeToDB(top_db=None)``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from soundsift.model.resample import resample  # moved to soundsift.model; still importable from here

__all__ = ["ClipSpec", "fit_to_clip", "fusion_mel", "htk_mel_filterbank", "log_mel", "repeat_pad", "resample"]


@dataclass(frozen=True)
class ClipSpec:
    """The audio settings of a LAION-CLAP audio tower (its ``audio_cfg``)."""

    sample_rate: int
    clip_samples: int
    window_size: int
    hop_size: int
    mel_bins: int
    fmin: float
    fmax: float


def repeat_pad(wave: torch.Tensor, clip_samples: int) -> torch.Tensor:
    """Repeat whole copies of short audio, then zero-pad. Shape: (n, samples <= clip) -> (n, clip)."""
    copies = clip_samples // wave.shape[-1]
    tiled = wave.repeat(1, copies)
    return F.pad(tiled, (0, clip_samples - tiled.shape[-1]))


def fit_to_clip(wave: torch.Tensor, clip_samples: int) -> torch.Tensor:
    """Input of the non-fusion towers. Shape: (n, samples) -> (n, clip_samples)."""
    samples = wave.shape[-1]
    if samples > clip_samples:
        start = (samples - clip_samples) // 2
        return wave[:, start : start + clip_samples]
    return repeat_pad(wave, clip_samples)


def htk_mel_filterbank(n_freqs: int, spec: ClipSpec) -> torch.Tensor:
    """Triangular HTK-scale mel filters without area normalisation. Shape: (n_freqs, mel_bins)."""

    def to_mel(hz: float) -> float:
        return 2595.0 * math.log10(1.0 + hz / 700.0)

    freqs = torch.linspace(0, spec.sample_rate // 2, n_freqs)
    mels = torch.linspace(to_mel(spec.fmin), to_mel(spec.fmax), spec.mel_bins + 2)
    edges = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    widths = edges[1:] - edges[:-1]
    slopes = edges.unsqueeze(0) - freqs.unsqueeze(1)
    rising = -slopes[:, :-2] / widths[:-1]
    falling = slopes[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


def log_mel(wave: torch.Tensor, spec: ClipSpec) -> torch.Tensor:
    """Power mel spectrogram in dB. Shape: (n, samples) -> (n, frames, mel_bins)."""
    window = torch.hann_window(spec.window_size, device=wave.device, dtype=wave.dtype)
    stft = torch.stft(
        wave, spec.window_size, spec.hop_size, window=window, center=True, pad_mode="reflect", return_complex=True
    )
    power = torch.view_as_real(stft).pow(2).sum(-1)
    filters = htk_mel_filterbank(power.shape[1], spec).to(device=wave.device, dtype=wave.dtype)
    mel = power.transpose(1, 2) @ filters
    return 10.0 * torch.log10(mel.clamp_min(1e-10))


def fusion_mel(wave: torch.Tensor, spec: ClipSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Input of the fusion towers: mel ``(n, 4, frames, mel_bins)`` and ``longer`` flags ``(n,)``."""
    n = wave.shape[0]
    if wave.shape[-1] <= spec.clip_samples:
        mel = log_mel(repeat_pad(wave, spec.clip_samples), spec)
        return mel.unsqueeze(1).expand(-1, 4, -1, -1), torch.zeros(n, dtype=torch.bool)
    mel = log_mel(wave, spec)
    chunk = spec.clip_samples // spec.hop_size + 1
    total = mel.shape[1]
    if total == chunk:
        return mel.unsqueeze(1).expand(-1, 4, -1, -1), torch.zeros(n, dtype=torch.bool)
    starts = _chunk_starts(total - chunk + 1)
    chunks = [mel[:, s : s + chunk] for s in starts]
    shrunk = F.interpolate(mel.unsqueeze(1), size=(chunk, spec.mel_bins), mode="bilinear", antialias=True)
    return torch.stack([shrunk[:, 0], *chunks], dim=1), torch.ones(n, dtype=torch.bool)


def _chunk_starts(positions: int) -> list[int]:
    """Middle start of the front, middle and back thirds of ``range(positions)`` (the first when a third is empty)."""
    bounds = [positions * k // 3 for k in range(4)]
    return [(lo + hi - 1) // 2 if hi > lo else 0 for lo, hi in itertools.pairwise(bounds)]
