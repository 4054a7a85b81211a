"""The query-encoder interface every backend implements.

A query encoder turns text queries into unit vectors in a shared embedding space (and,
for separators with cross-attention, into per-token states).  A separator checkpoint
records the encoder's name, options and weights fingerprint and refuses to run with any
other encoder.
"""
from __future__ import annotations

import abc
import hashlib
import json
from typing import Any

import torch
from torch import nn

from soundsift.core.config import EncoderSpec
from soundsift.errors import SoundsiftError


class EncoderError(SoundsiftError):
    """A query encoder cannot be built here, or cannot do what was asked of it."""


class QueryEncoder(nn.Module, abc.ABC):
    """Maps queries to ``(n, dim)`` unit embeddings; frozen while a separator trains."""

    name: str = ""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()
        self.options = dict(options)

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Size of the sentence embedding."""

    @property
    @abc.abstractmethod
    def token_dim(self) -> int:
        """Size of each token state."""

    @property
    def logit_scale(self) -> float:
        """Temperature-free scale for cosine logits (CLAP's learned value where there is one)."""
        return 1.0 / 0.07

    @abc.abstractmethod
    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """Embed queries. Shape: ``(n,)`` strings -> ``(n, dim)`` unit vectors."""

    @abc.abstractmethod
    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token states ``(n, L, token_dim)`` and a padding mask ``(n, L)``, True where padded."""

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Embed audio into the text embedding space, differentiably (gradients reach ``waveform``).

        Shape: ``(n, samples)`` mono at ``sample_rate`` -> ``(n, dim)`` unit vectors.
        Encoders without an audio tower raise :class:`EncoderError`.
        """
        raise EncoderError(f"query encoder '{self.name}' has no audio tower; it cannot embed audio")

    def fingerprint_options(self) -> dict[str, Any]:
        """The options that, with the weights, identify the encoder (all of them unless a backend says otherwise)."""
        return self.options

    def weights_digest(self) -> str:
        """sha256 over the encoder's parameters and buffers (empty for weightless encoders)."""
        digest = hashlib.sha256()
        for key, value in sorted(self.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """Identifies the encoder exactly: name, options and weights."""
        payload = json.dumps({"name": self.name, "options": self.fingerprint_options()}, sort_keys=True)
        return hashlib.sha256((payload + self.weights_digest()).encode()).hexdigest()[:16]

    def spec(self) -> EncoderSpec:
        """The record a separator checkpoint stores about this encoder."""
        return EncoderSpec(name=self.name, options=dict(self.options), fingerprint=self.fingerprint())
