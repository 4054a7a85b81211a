"""The separator network: model-rate waveform + queries -> sigmoid ratio masks."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from soundsift.core.config import ModelConfig
from soundsift.errors import CheckpointError
from soundsift.model.frontend import log_magnitude, stft
from soundsift.model.unet import ConditionalUNet, Query


class SeparatorNetwork(nn.Module):
    """Front end plus a mask network; all sizes come from a :class:`ModelConfig`."""

    def __init__(self, config: ModelConfig, embed_dim: int, token_dim: int) -> None:
        super().__init__()
        self.config = config
        self.net = ConditionalUNet(config.network, embed_dim, token_dim)
        count = config.network.learned_queries
        self.learned = nn.Parameter(torch.randn(count, embed_dim) / embed_dim**0.5) if count else None
        self.learned_tokens = nn.Linear(embed_dim, token_dim) if count and config.network.cross_attention else None

    def spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """Complex model-rate STFT. Shape: (B, samples) -> (B, bins, frames)."""
        cfg = self.config.stft
        return stft(wave, cfg.n_fft, cfg.hop_length)

    def mask_logits(self, magnitude: torch.Tensor, query: Query) -> torch.Tensor:
        """Shapes: magnitude (B, bins, frames), query of Q -> logits (B, Q, bins, frames)."""
        return self.net(log_magnitude(magnitude).unsqueeze(1), query)

    def learned_query(self) -> Query:
        """The network's own learned query embeddings (noise heads for NIT), as one token each."""
        if self.learned is None:
            raise ValueError("this network has no learned queries (set network.learned_queries)")
        emb = F.normalize(self.learned, dim=-1)
        if self.learned_tokens is None:
            return Query(emb)
        padding = torch.zeros(emb.shape[0], 1, dtype=torch.bool, device=emb.device)
        return Query(emb, self.learned_tokens(emb)[:, None], padding)

    def masks(self, wave: torch.Tensor, query: Query) -> torch.Tensor:
        """Sigmoid ratio masks. Shapes: wave (B, samples) -> (B, Q, bins, frames)."""
        return torch.sigmoid(self.mask_logits(self.spectrogram(wave).abs(), query))


def _film_unet(config: ModelConfig, embed_dim: int, token_dim: int) -> SeparatorNetwork:
    return SeparatorNetwork(config, embed_dim, token_dim)


ARCHITECTURES: dict[str, Callable[[ModelConfig, int, int], SeparatorNetwork]] = {"film_unet": _film_unet}


def build_network(config: ModelConfig, embed_dim: int, token_dim: int) -> SeparatorNetwork:
    """Construct the network a config names (explicit registry; no import-path lookups)."""
    factory = ARCHITECTURES.get(config.architecture)
    if factory is None:
        raise CheckpointError(f"unknown architecture '{config.architecture}'; known: {sorted(ARCHITECTURES)}")
    return factory(config, embed_dim, token_dim)


def pad_to(wave: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad the last axis of ``wave`` to ``length`` samples."""
    return F.pad(wave, (0, length - wave.shape[-1]))
