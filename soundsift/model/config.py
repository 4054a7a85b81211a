"""The model configuration saved as ``config.json`` beside the weights.

Everything needed to rebuild a separator lives here: the model sample rate, the STFT, the
network sizes, and the query encoder (name, settings, weights fingerprint).  Configs are
frozen dataclasses; change one with :func:`dataclasses.replace`.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

from soundsift.errors import CheckpointError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class STFTConfig:
    """Spectral front end at the model rate (paper: 16 kHz, n_fft 1022, hop 256, Hann)."""

    sample_rate: int = 16_000
    n_fft: int = 1022
    hop_length: int = 256

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the conditional U-Net (see :mod:`soundsift.model.unet`)."""

    base_channels: int = 16
    max_channels: int = 128
    depth: int = 5
    blocks_per_level: int = 1
    decoder_width: float = 1.0
    fusion_maps: int = 16
    late_fusion: bool = False
    film_encoder: bool = False
    cross_attention: bool = False
    attention_heads: int = 4
    learned_queries: int = 0


@dataclass(frozen=True)
class EncoderSpec:
    """Which query encoder the separator was trained with, and with which weights."""

    name: str = "ngram"
    options: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


@dataclass(frozen=True)
class ModelConfig:
    """A complete, serialisable description of a separator model."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    architecture: str = "film_unet"
    description: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are dropped with a warning."""
        if not isinstance(data, dict):
            raise CheckpointError("config.json must hold a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise CheckpointError(
                f"config.json has format_version {version!r}; this soundsift reads version {FORMAT_VERSION}"
            )
        return _build(cls, data, "config")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Construct dataclass ``cls`` from ``data``, recursing into nested config dataclasses."""
    if not isinstance(data, dict):
        raise CheckpointError(f"config.json: '{where}' must be an object")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        warnings.warn(f"config.json: ignoring unknown keys in '{where}': {unknown}", stacklevel=3)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue
        nested = _NESTED.get((cls, name))
        kwargs[name] = _build(nested, value, f"{where}.{name}") if nested else value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CheckpointError(f"config.json: bad '{where}': {exc}") from None


_NESTED: dict[tuple[type, str], type] = {
    (ModelConfig, "stft"): STFTConfig,
    (ModelConfig, "network"): NetworkConfig,
    (ModelConfig, "encoder"): EncoderSpec,
}
