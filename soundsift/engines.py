"""Choosing and loading an inference engine: torch (:class:`Separator`) or ONNX Runtime (:class:`OnnxSeparator`).

``auto`` takes ONNX Runtime when the model directory holds an ONNX export and onnxruntime
is installed, unless a CUDA GPU would be left unused: on ``--device cuda`` (or ``auto`` on
a machine with an NVIDIA driver) without onnxruntime's CUDA provider it takes torch.  Where
torch is not installed at all (the packaged desktop app), ``auto`` is ONNX Runtime.  This
module imports torch only when the torch engine is chosen or a visible GPU must be asked about.
"""
from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soundsift.core.store import resolve_model
from soundsift.errors import CheckpointError, InvalidArgumentError
from soundsift.queries import AUDIO_QUERY_HELP
from soundsift.runtime.layout import has_onnx_export
from soundsift.separation import SegmentSeparator

ENGINES = ("auto", "torch", "onnx")


def choose_engine(model_dir: Path, engine: str = "auto", device: str = "auto") -> str:
    """'torch' or 'onnx' for ``model_dir`` on ``device`` (see the module docstring)."""
    if engine not in ENGINES:
        raise InvalidArgumentError(f"unknown engine '{engine}'; use auto, torch or onnx")
    if engine != "auto":
        return engine
    if not torch_installed():
        if not has_onnx_export(model_dir):
            raise CheckpointError(f"{model_dir}: PyTorch is not installed and this model has no ONNX export; "
                                  "run 'soundsift export-onnx' on it where torch is installed")
        return "onnx"
    if not has_onnx_export(model_dir) or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    if device == "cpu":
        return "onnx"
    from soundsift.runtime.sessions import cuda_provider_available

    if cuda_provider_available():
        return "onnx"
    if device == "cuda" or _torch_sees_gpu():
        return "torch"
    return "onnx"


def torch_installed() -> bool:
    """True when PyTorch can be imported here (it is left out of the packaged app)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # blocked, or a stub left in sys.modules
        return False


def nvidia_driver_present() -> bool:
    """True when an NVIDIA driver is installed here: a cheap check that imports neither torch nor onnxruntime."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()


def _torch_sees_gpu() -> bool:
    """True when an NVIDIA driver is present and torch can use the GPU (torch is imported only then)."""
    if not nvidia_driver_present():
        return False
    if not torch_installed():
        return False
    import torch

    return bool(torch.cuda.is_available())


def load_separator(
    name_or_path: str | Path | None = None,
    engine: str = "auto",
    device: str = "auto",
    encoder_options: Mapping[str, Any] | None = None,
    threads: int | None = None,
    half: bool = False,
    audio_queries: bool = False,
) -> SegmentSeparator:
    """Load a model on the chosen engine; both engines offer the same separate/separate_file API.

    ``encoder_options`` and ``half`` apply to the torch engine, ``threads`` (intra-op threads)
    to both; an option the chosen engine cannot honour is an error, not silently dropped.
    ``audio_queries``: the caller will separate by audio examples, which need the encoder's
    audio tower: ``auto`` then takes torch, and ``onnx`` is refused.
    """
    path = resolve_model(name_or_path)
    if audio_queries and engine == "onnx":
        raise InvalidArgumentError(AUDIO_QUERY_HELP)
    if audio_queries and not torch_installed():
        raise InvalidArgumentError("audio-example queries need the encoder's audio tower, which runs on PyTorch; "
                                   "PyTorch is not installed here")
    chosen = "torch" if audio_queries and engine in ("auto", "torch") else choose_engine(path, engine, device)
    name = str(name_or_path or path.name)
    if chosen == "onnx":
        if encoder_options:
            raise InvalidArgumentError("--encoder-option applies to the torch engine; the ONNX export carries its "
                                       "own text tower (use --engine torch)")
        if half:
            raise InvalidArgumentError("half precision applies to the torch engine (use --engine torch)")
        from soundsift.runtime import OnnxSeparator

        return OnnxSeparator(path, device, threads, name=name)
    if not torch_installed():
        raise InvalidArgumentError("the torch engine needs PyTorch, which is not installed here; use the onnx engine")
    from soundsift.separator import Separator

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return Separator.load(name_or_path, device, encoder_options, half=half)
