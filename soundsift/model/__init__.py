"""The engine: front end, separator network, query encoders, checkpoints, chunked inference.

Depends on nothing of soundsift's but :mod:`soundsift.audio` and :mod:`soundsift.errors`.
The torch-backed names (checkpoints, the network, new models) load on first use (PEP 562),
so that the torch-free modules (``config``, ``model_dir``, ``store``, ``chunked``,
``stft_grid``, ``encoders.compact_onnx``) serve the ONNX runtime without importing torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Torch-free, so imported now (and ``chunked`` must name the function, not its submodule).
from soundsift.model.chunked import SegmentPlan as SegmentPlan
from soundsift.model.chunked import chunked as chunked
from soundsift.model.config import EncoderSpec as EncoderSpec
from soundsift.model.config import ModelConfig as ModelConfig
from soundsift.model.config import NetworkConfig as NetworkConfig
from soundsift.model.config import STFTConfig as STFTConfig
from soundsift.model.model_dir import read_config as read_config
from soundsift.model.store import list_models as list_models
from soundsift.model.store import resolve_model as resolve_model

if TYPE_CHECKING:
    from soundsift.model.checkpoint import load_checkpoint as load_checkpoint
    from soundsift.model.checkpoint import save_checkpoint as save_checkpoint
    from soundsift.model.factory import init_model as init_model
    from soundsift.model.network import SeparatorNetwork as SeparatorNetwork

_EXPORTS = {
    "SeparatorNetwork": "soundsift.model.network",
    "init_model": "soundsift.model.factory",
    "load_checkpoint": "soundsift.model.checkpoint",
    "save_checkpoint": "soundsift.model.checkpoint",
}

__all__ = [
    "EncoderSpec",
    "ModelConfig",
    "NetworkConfig",
    "STFTConfig",
    "SegmentPlan",
    "SeparatorNetwork",
    "chunked",
    "init_model",
    "list_models",
    "load_checkpoint",
    "read_config",
    "resolve_model",
    "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
