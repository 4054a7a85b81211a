"""The ONNX Runtime engine: separation with numpy, tokenizers and onnxruntime, without torch or transformers.

A model directory carries its ONNX export in ``onnx/`` (``soundsift export-onnx``);
:class:`OnnxSeparator` loads it and offers the same API as the torch engine's
:class:`soundsift.separator.Separator`.
"""
from __future__ import annotations

from soundsift.runtime.layout import has_onnx_export
from soundsift.runtime.separator import OnnxSeparator

__all__ = ["OnnxSeparator", "has_onnx_export"]
