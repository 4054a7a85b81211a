"""soundsift: pull sounds out of a recording by describing them in text.

:class:`Separator` (the torch engine) and :class:`OnnxSeparator` (ONNX Runtime, no torch)
load on first use (PEP 562), so that code running on the ONNX engine never imports torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from soundsift.errors import (
    AudioError,
    CheckpointError,
    InvalidArgumentError,
    NoDefaultModelError,
    SeparationCancelled,
    SoundsiftError,
)
from soundsift.queries import AudioExample, AudioQuery
from soundsift.separation import SegmentSeparator, SeparationOptions

if TYPE_CHECKING:
    from soundsift.runtime import OnnxSeparator as OnnxSeparator
    from soundsift.separator import Separator as Separator

__version__ = "0.1.0"

_LAZY = {"Separator": "soundsift.separator", "OnnxSeparator": "soundsift.runtime"}

__all__ = [
    "AudioError",
    "AudioExample",
    "AudioQuery",
    "CheckpointError",
    "InvalidArgumentError",
    "NoDefaultModelError",
    "OnnxSeparator",
    "SegmentSeparator",
    "SeparationCancelled",
    "SeparationOptions",
    "Separator",
    "SoundsiftError",
    "__version__",
    "load_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def load_model(name_or_path: str | None = None, device: str = "auto", engine: str = "auto") -> SegmentSeparator:
    """Shorthand for :func:`soundsift.engines.load_separator` (``engine``: auto, torch or onnx)."""
    from soundsift.engines import load_separator

    return load_separator(name_or_path, engine=engine, device=device)
