"""The model configuration saved as ``config.json`` beside the weights.

Everything needed to rebuild a separator lives here: the model sample rate, the STFT, the
network sizes, and the query encoder (name, settings, weights fingerprint).  Configs are
frozen dataclasses; change one with :func:`dataclasses.replace`.  Every field is checked
for its type and range when a config is made, so a hostile ``config.json`` is refused
before anything is built from it.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

from soundsift.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from soundsift.core.fields import bounded, check_fields, check_values
from soundsift.errors import CheckpointError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class STFTConfig:
    """Spectral front end at the model rate (paper: 16 kHz, n_fft 1022, hop 256, Hann)."""

    sample_rate: int = bounded(16_000, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
    n_fft: int = bounded(1022, 16, 16_384)
    hop_length: int = bounded(256, 1, 16_384)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length must be at most n_fft ({self.n_fft}), got {self.hop_length}")

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the conditional U-Net (see :mod:`soundsift.model.unet`)."""

    base_channels: int = bounded(16, 1, 512)
    max_channels: int = bounded(128, 1, 1024)
    depth: int = bounded(5, 1, 10)
    blocks_per_level: int = bounded(1, 1, 8)
    decoder_width: float = bounded(1.0, 1e-3, 1.0)
    fusion_maps: int = bounded(16, 1, 512)
    late_fusion: bool = False
    film_encoder: bool = False
    cross_attention: bool = False
    attention_heads: int = bounded(4, 1, 64)
    learned_queries: int = bounded(0, 0, 64)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class EncoderSpec:
    """Which query encoder the separator was trained with, and with which weights."""

    name: str = "ngram"
    options: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class ModelConfig:
    """A complete, serialisable description of a separator model."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    architecture: str = "film_unet"
    description: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config.json") -> ModelConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are dropped with a warning; errors name ``source``."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{source} must hold a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise CheckpointError(
                f"{source} has format_version {version!r}; this soundsift reads version {FORMAT_VERSION}"
            )
        return _build(cls, data, "config", source)


def _build(cls: type, data: dict[str, Any], where: str, source: str) -> Any:
    """Construct dataclass ``cls`` from ``data``, recursing into nested config dataclasses."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{source}: '{where}' must be an object")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        warnings.warn(f"{source}: ignoring unknown keys in '{where}': {unknown}", stacklevel=3)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue
        nested = _NESTED.get((cls, name))
        kwargs[name] = _build(nested, value, f"{where}.{name}", source) if nested else value
    try:
        check_values(cls, kwargs)
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: {where}.{exc}") from None


_NESTED: dict[tuple[type, str], type] = {
    (ModelConfig, "stft"): STFTConfig,
    (ModelConfig, "network"): NetworkConfig,
    (ModelConfig, "encoder"): EncoderSpec,
}
