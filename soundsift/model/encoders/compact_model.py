"""The trained part of the compact CLAP: text projection, audio tower and logit scale.

The text tower's body is the frozen MiniLM (:mod:`soundsift.model.encoders.minilm`); what
is trained, shipped and fingerprinted is this module.  The shared space is MiniLM's own
384-d space: the text projection is the identity plus a learned correction
``x -> x + x @ delta.T`` (``delta`` starts at zero and is kept small by weight decay), so
words never seen in training ("fiddle") keep MiniLM's neighbourhoods.  The projection is
linear, so projecting each token state and mean-pooling gives the same sentence vector as
pooling first; token states for cross-attention and sentence embeddings therefore agree.

Vocabulary anchors: MiniLM ranks a rare synonym ("fiddle") nearest the right class
("violin"), but too weakly for its own vector to beat the other classes' prompts on
violin audio.  So a sentence embedding is pulled towards the training captions it reads
like: ``e = normalize(own + w * sum_i softmax(cos(x, a_i) / t)_i * emb(a_i))`` over the
pooled MiniLM states ``a_i`` of the training captions (stored with the weights, set once
training ends), with ``w`` = ``anchor_weight`` and ``t`` = ``anchor_temperature``.  Token
states are not anchored.
"""
from __future__ import annotations

import dataclasses
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
    anchors: int = 0
    anchor_temperature: float = 0.02
    anchor_weight: float = 1.0
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {"format_version": self.format_version, "text_model": self.text_model, "dim": self.dim,
                "audio": self.audio.to_dict(), "anchors": self.anchors,
                "anchor_temperature": self.anchor_temperature, "anchor_weight": self.anchor_weight}

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
                       audio=AudioConfig.from_dict(dict(data["audio"])), anchors=int(data.get("anchors", 0)),
                       anchor_temperature=float(data.get("anchor_temperature", cls.anchor_temperature)),
                       anchor_weight=float(data.get("anchor_weight", cls.anchor_weight)))
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
        self.register_buffer("anchors", torch.zeros(config.anchors, config.dim) if config.anchors else None)

    def attach_anchors(self, pooled: torch.Tensor, temperature: float | None = None,
                       weight: float | None = None) -> None:
        """Store the pooled MiniLM states ``(A, dim)`` of the training captions as vocabulary anchors."""
        self.config = dataclasses.replace(
            self.config, anchors=pooled.shape[0],
            anchor_temperature=self.config.anchor_temperature if temperature is None else temperature,
            anchor_weight=self.config.anchor_weight if weight is None else weight)
        self.anchors = pooled.detach().to(self.text_delta).clone()

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
        """Sentence embedding from mean-pooled MiniLM states, anchored. Shape: ``(n, dim)`` -> ``(n, dim)`` unit."""
        own = F.normalize(self.project_tokens(pooled), dim=-1)
        if self.config.anchors == 0 or self.config.anchor_weight == 0:
            return own
        similarity = F.normalize(pooled, dim=-1) @ F.normalize(self.anchors, dim=-1).T
        weights = torch.softmax(similarity / self.config.anchor_temperature, dim=-1)
        anchored = weights @ F.normalize(self.project_tokens(self.anchors), dim=-1)
        return F.normalize(own + self.config.anchor_weight * anchored, dim=-1)

    def audio_embedding(self, wave: torch.Tensor) -> torch.Tensor:
        """Shape: ``(n, samples)`` at ``config.audio.sample_rate`` -> ``(n, dim)`` unit."""
        return F.normalize(self.audio(wave), dim=-1)
