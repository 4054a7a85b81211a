"""The engine: front end, separator network, query encoders, checkpoints, chunked inference.

Depends on nothing of soundsift's but :mod:`soundsift.audio` and :mod:`soundsift.errors`.
"""
from __future__ import annotations

from soundsift.model.checkpoint import load_checkpoint, read_config, save_checkpoint
from soundsift.model.chunked import SegmentPlan, chunked
from soundsift.model.config import EncoderSpec, ModelConfig, NetworkConfig, STFTConfig
from soundsift.model.factory import init_model
from soundsift.model.network import SeparatorNetwork
from soundsift.model.store import list_models, resolve_model

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
