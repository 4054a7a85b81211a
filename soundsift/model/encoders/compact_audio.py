"""The compact encoder's audio tower: a log-mel front end and a small CNN, in plain torch.

The front end is split in two steps, :meth:`LogMel.power` (STFT power) and
:meth:`LogMel.log_mel` (mel filterbank and log), so that training can augment the power
spectrogram (equalisation, pitch shift) between them.  The network treats the log-mel
as an image for a few 2-D conv blocks, folds the remaining frequency rows into channels
for a 1-D conv over time, then pools over time (mean and max) and maps to the embedding.
Any input length works; everything is differentiable with respect to the waveform.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

_MIN_FRAMES = 16  # shorter inputs are zero-padded to this many frames (the CNN pools time by 8)


@dataclass(frozen=True)
class AudioConfig:
    """Front end and network sizes of the audio tower."""

    sample_rate: int = 16_000
    n_fft: int = 512
    hop_length: int = 160
    n_mels: int = 64
    f_min: float = 30.0
    f_max: float = 8_000.0
    channels: tuple[int, ...] = (16, 32, 64, 128)
    time_channels: int = 256
    hidden: int = 512

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "channels": tuple(data.get("channels", cls.channels))})


def mel_filterbank(n_freqs: int, cfg: AudioConfig) -> torch.Tensor:
    """Triangular HTK-scale mel filters, each normalised to unit area. Shape: ``(n_mels, n_freqs)``."""

    def to_mel(hz: float) -> float:
        return 2595.0 * math.log10(1.0 + hz / 700.0)

    freqs = torch.linspace(0.0, cfg.sample_rate / 2, n_freqs, dtype=torch.float64)
    mels = torch.linspace(to_mel(cfg.f_min), to_mel(cfg.f_max), cfg.n_mels + 2, dtype=torch.float64)
    edges = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    filters = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return (filters / filters.sum(dim=1, keepdim=True).clamp_min(1e-12)).to(torch.float32)


class LogMel(nn.Module):
    """Waveform at ``cfg.sample_rate`` -> natural-log mel power. Shape: ``(n, samples)`` -> ``(n, n_mels, frames)``."""

    def __init__(self, cfg: AudioConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(cfg.n_fft // 2 + 1, cfg), persistent=False)

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """STFT power. Shape: ``(n, samples)`` -> ``(n, n_fft // 2 + 1, frames)``."""
        minimum = (_MIN_FRAMES - 1) * self.cfg.hop_length
        if wave.shape[-1] < minimum:
            wave = nn.functional.pad(wave, (0, minimum - wave.shape[-1]))
        spec = torch.stft(wave, self.cfg.n_fft, self.cfg.hop_length, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)
        return torch.view_as_real(spec).pow(2).sum(-1)

    def log_mel(self, power: torch.Tensor) -> torch.Tensor:
        """Mel filterbank and log. Shape: ``(n, freqs, frames)`` -> ``(n, n_mels, frames)``."""
        return torch.log(self.filters @ power + 1e-8)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.log_mel(self.power(wave))


def _conv_block(channels_in: int, channels_out: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
        nn.AvgPool2d(pool),
    )


class AudioTower(nn.Module):
    """Log-mel CNN. Shape: waveform ``(n, samples)`` at ``cfg.sample_rate`` -> ``(n, dim)`` (not normalised)."""

    def __init__(self, cfg: AudioConfig, dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.frontend = LogMel(cfg)
        self.input_norm = nn.BatchNorm1d(cfg.n_mels)
        pools = [(2, 2)] * 3 + [(2, 1)] * (len(cfg.channels) - 3)
        widths = (1, *cfg.channels)
        self.blocks = nn.Sequential(*(_conv_block(a, b, p) for a, b, p in zip(widths, widths[1:], pools)))
        rows = cfg.n_mels // 2 ** len(cfg.channels)
        if rows < 1:
            raise ValueError(f"{cfg.n_mels} mel bands cannot be pooled by {len(cfg.channels)} conv blocks")
        self.temporal = nn.Sequential(
            nn.Conv1d(cfg.channels[-1] * rows, cfg.time_channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(cfg.time_channels),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(2 * cfg.time_channels, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, dim))

    def embed_log_mel(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Shape: ``(n, n_mels, frames)`` -> ``(n, dim)``."""
        x = self.blocks(self.input_norm(log_mel).unsqueeze(1))
        n, channels, rows, frames = x.shape
        x = self.temporal(x.reshape(n, channels * rows, frames))
        return self.head(torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.embed_log_mel(self.frontend(wave))

