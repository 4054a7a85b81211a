"""The torch engine: front end, separator network, query encoders, checkpoints, new models.

Its configuration and model directories are :mod:`soundsift.core`'s.  The names load on first
use (PEP 562), so that ``encoders.compact_onnx`` serves the ONNX runtime without importing torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "SeparatorNetwork",
    "init_model",
    "load_checkpoint",
    "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
