"""ONNX Runtime sessions: which execution provider runs them, and on how many threads.

The CPU provider is the default; the CUDA provider is used when it is installed
(``onnxruntime-gpu``) and the device asks for it or leaves it to ``auto``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from soundsift.errors import CheckpointError, InvalidArgumentError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


def onnxruntime() -> Any:
    """The onnxruntime module, or a :class:`CheckpointError` saying how to install it."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise CheckpointError("the ONNX engine needs onnxruntime: pip install onnxruntime "
                              "(or onnxruntime-gpu for CUDA)") from None
    return ort


def cuda_provider_available() -> bool:
    """True when the installed onnxruntime has the CUDA provider."""
    return CUDA in onnxruntime().get_available_providers()


def providers_for(device: str) -> list[str]:
    """Execution providers for ``device`` (auto, cpu or cuda), best first."""
    if device not in DEVICES:
        raise InvalidArgumentError(f"unknown device '{device}'; use auto, cpu or cuda")
    if device == "cpu":
        return [CPU]
    if cuda_provider_available():
        return [CUDA, CPU]
    if device == "cuda":
        raise InvalidArgumentError("device 'cuda' was asked for, but this onnxruntime has no CUDA provider "
                                   "(install onnxruntime-gpu, or use --engine torch)")
    return [CPU]


def open_session(path: Path, providers: list[str], threads: int | None) -> Any:
    """An inference session on ``providers`` with ``threads`` intra-op threads (None: onnxruntime's default)."""
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.enable_mem_pattern = False  # about 120 MiB less peak memory on the default network, at the same speed
    # idle intra-op threads sleep instead of spinning, leaving the cores to the numpy front end between runs
    # (3-minute file, one query, on the busy 2-core machine: 9.5 s with spinning, 5.9-6.5 s without)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        if threads < 1:
            raise InvalidArgumentError(f"threads must be at least 1, got {threads}")
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        raise CheckpointError(f"{path}: onnxruntime cannot load it ({exc})") from exc
