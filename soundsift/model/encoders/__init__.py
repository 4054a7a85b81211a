"""Query encoders: one interface (:class:`QueryEncoder`), backends found by name.

The names below load on first use (PEP 562), so that the torch-free ONNX runtime can import
:mod:`soundsift.model.encoders.compact_onnx` without pulling in the torch backends.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from soundsift.model.encoders.base import EncoderError as EncoderError
    from soundsift.model.encoders.base import QueryEncoder as QueryEncoder
    from soundsift.model.encoders.registry import ENCODERS as ENCODERS
    from soundsift.model.encoders.registry import build_encoder as build_encoder

_EXPORTS = {
    "ENCODERS": "soundsift.model.encoders.registry",
    "EncoderError": "soundsift.model.encoders.base",
    "QueryEncoder": "soundsift.model.encoders.base",
    "build_encoder": "soundsift.model.encoders.registry",
}

__all__ = ["ENCODERS", "EncoderError", "QueryEncoder", "build_encoder"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
