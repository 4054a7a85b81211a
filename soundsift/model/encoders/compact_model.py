"""The trained part of the compact CLAP: text projection, audio tower and logit scale.

The text tower's body is the frozen MiniLM (:mod:`soundsift.model.encoders.minilm`); what
is trained, shipped and fingerprinted is this module.  The shared space is MiniLM's own
384-d space: the text projection is the identity plus a learned correction
``x -> x + x @ delta.T`` (``delta`` starts at zero and is kept small by weight decay), so
words never seen in training ("fiddle") keep MiniLM's neighbourhoods.  The projection is
linear, so projecting each token state and mean-pooling gives the same sentence vector as
pooling first; token states for cross-attention and sentence embeddings therefore agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from soundsift.errors import CheckpointError
from soundsift.model.encoders.compact_audio import AudioConfig, AudioTower
from soundsift.model.encoders.minilm import mean_pool

FORMAT_VERSION = 1
INITIAL_LOGIT_SCALE = 1.0 / 0.07
MAX_LOGIT_SCALE = 100.0


@dataclass(frozen=True)
class CompactConfig:
    """What a compact CLAP weights folder holds besides tensors (its ``config.json``).

    ``text_model`` is the identity of the MiniLM files the projection was trained against
    (:func:`soundsift.model.encoders.minilm_files.minilm_identity`).
    """

    text_model: str
    dim: int = 384
    audio: AudioConfig = field(default_factory=AudioConfig)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {"format_version": self.format_version, "text_model": self.text_model, "dim": self.dim,
                "audio": self.audio.to_dict()}

    @classmethod
    def from_dict(cls, data: object, where: str) -> CompactConfig:
        """Inverse of :meth:`to_dict`; ``where`` names the file in errors."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: expected a JSON object")
        if data.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{where}: format_version {data.get('format_version')!r}; "
                                  f"this soundsift reads version {FORMAT_VERSION}")
        try:
            return cls(text_model=str(data["text_model"]), dim=int(data["dim"]),
                       audio=AudioConfig.from_dict(dict(data["audio"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{where}: bad compact CLAP config ({exc!r})") from None


class CompactClap(nn.Module):
    """Projection of MiniLM states, audio tower and logit scale, embedding both into ``dim`` unit vectors."""

    def __init__(self, config: CompactConfig) -> None:
        super().__init__()
        self.config = config
        self.text_delta = nn.Parameter(torch.zeros(config.dim, config.dim))
        self.audio = AudioTower(config.audio, config.dim)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(INITIAL_LOGIT_SCALE)))

    @property
    def logit_scale(self) -> torch.Tensor:
        """Scale for cosine logits, learned, capped at 100 as in CLIP."""
        return self.log_logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def project_tokens(self, states: torch.Tensor) -> torch.Tensor:
        """Map MiniLM states into the shared space. Shape: ``(..., dim)`` -> ``(..., dim)``."""
        return states + states @ self.text_delta.T

    def text_embedding(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Sentence embedding. Shape: states ``(n, L, dim)``, mask ``(n, L)`` (1 = token) -> ``(n, dim)`` unit."""
        return self.embed_pooled(mean_pool(states, mask))

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """Sentence embedding from mean-pooled MiniLM states. Shape: ``(n, dim)`` -> ``(n, dim)`` unit."""
        return F.normalize(self.project_tokens(pooled), dim=-1)

    def audio_embedding(self, wave: torch.Tensor) -> torch.Tensor:
        """Shape: ``(n, samples)`` at ``config.audio.sample_rate`` -> ``(n, dim)`` unit."""
        return F.normalize(self.audio(wave), dim=-1)
