"""Training-time augmentation of clips, seeded by a ``torch.Generator``.

Waveform: a random crop, (for some clips) another clip of the batch mixed in well below
it, a random gain, and (for some clips) white noise at a random signal-to-noise ratio.
STFT power, between the audio tower's two front-end steps: a random smooth equaliser curve
and a small pitch shift (the frequency axis stretched by linear interpolation).  Log-mel:
one band of frequencies and one stretch of time masked (SpecAugment).  All of it is
batched tensor work, cheap next to the network.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes (all symmetric around "no change" unless said otherwise)."""

    crop_seconds: float = 3.0
    background_probability: float = 0.5
    background_db: tuple[float, float] = (-30.0, -12.0)
    gain_db: float = 12.0
    noise_probability: float = 0.5
    snr_db: tuple[float, float] = (5.0, 40.0)
    eq_db: float = 10.0
    pitch_semitones: float = 2.0
    mask_bands: int = 8
    mask_fraction: float = 0.1


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_crop(waves: torch.Tensor, samples: int, generator: torch.Generator) -> torch.Tensor:
    """A random window of each clip (zero-padded when clips are shorter). Shape: ``(n, s)`` -> ``(n, samples)``."""
    if waves.shape[1] <= samples:
        return torch.nn.functional.pad(waves, (0, samples - waves.shape[1]))
    starts = torch.randint(0, waves.shape[1] - samples + 1, (waves.shape[0],), generator=generator)
    return torch.stack([w[s : s + samples] for w, s in zip(waves, starts.tolist())])


def _rms(waves: torch.Tensor) -> torch.Tensor:
    return waves.pow(2).mean(dim=1).sqrt()


def mix_background(waves: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Mix the next clip of the batch into some clips, ``background_db`` below them. Shape kept."""
    n = waves.shape[0]
    background = waves.roll(1, dims=0)
    level = 10 ** (_uniform(n, *aug.background_db, generator) / 20) * _rms(waves) / _rms(background).clamp_min(1e-8)
    chosen = (torch.rand(n, generator=generator) < aug.background_probability).to(waves.dtype)
    return waves + background * (level * chosen)[:, None]


def gain_and_noise(waves: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Random gain, then white noise at a random SNR for a random subset. Shape: ``(n, samples)`` kept."""
    n = waves.shape[0]
    gain = 10 ** (_uniform(n, -aug.gain_db, aug.gain_db, generator) / 20)
    waves = waves * gain[:, None]
    rms = _rms(waves)
    snr = _uniform(n, *aug.snr_db, generator)
    noisy = (torch.rand(n, generator=generator) < aug.noise_probability).to(waves.dtype)
    noise = torch.randn(waves.shape, generator=generator) * (rms * 10 ** (-snr / 20) * noisy)[:, None]
    return waves + noise


def equalise(power: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Multiply by a smooth random curve of at most ``eq_db`` dB. Shape: ``(n, freqs, frames)`` kept."""
    n, freqs = power.shape[:2]
    position = torch.linspace(0.0, 1.0, freqs).sqrt()  # more detail in the low bins
    harmonics = torch.arange(1, 6, dtype=power.dtype)
    weights = torch.randn(n, harmonics.numel(), generator=generator) / harmonics
    curve = weights @ torch.cos(torch.pi * harmonics[:, None] * position[None, :])
    curve = curve / curve.abs().amax(dim=1, keepdim=True).clamp_min(1e-6) * _uniform(n, 0, aug.eq_db, generator)[:, None]
    return power * (10 ** (curve / 10))[:, :, None]


def pitch_shift(power: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Move every partial by a random factor of up to ``pitch_semitones``. Shape: ``(n, freqs, frames)`` kept."""
    n, freqs = power.shape[:2]
    factor = 2 ** (_uniform(n, -aug.pitch_semitones, aug.pitch_semitones, generator) / 12)
    source = torch.arange(freqs, dtype=power.dtype)[None, :] / factor[:, None]
    low = source.floor().long().clamp(max=freqs - 1)
    high = (low + 1).clamp(max=freqs - 1)
    frac = (source - low).clamp(0, 1)[:, :, None]
    inside = (source <= freqs - 1).to(power.dtype)[:, :, None]

    def gather(index: torch.Tensor) -> torch.Tensor:
        return torch.gather(power, 1, index[:, :, None].expand(-1, -1, power.shape[2]))

    return (gather(low) * (1 - frac) + gather(high) * frac) * inside


def mask_log_mel(log_mel: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Set one random band of up to ``mask_bands`` mel bands and one random stretch of up to
    ``mask_fraction`` of the frames to the clip's mean. Shape: ``(n, mels, frames)`` kept."""
    n, mels, frames = log_mel.shape

    def stripes(size: int, widest: int) -> torch.Tensor:
        width = torch.randint(0, widest + 1, (n, 1), generator=generator)
        start = (torch.rand(n, 1, generator=generator) * (size - width + 1)).long()
        position = torch.arange(size)[None, :]
        return (position >= start) & (position < start + width)

    masked = stripes(mels, aug.mask_bands)[:, :, None] | stripes(frames, int(aug.mask_fraction * frames))[:, None, :]
    mean = log_mel.mean(dim=(1, 2), keepdim=True)
    return torch.where(masked, mean, log_mel)
