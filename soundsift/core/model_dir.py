"""A model directory's layout and its ``config.json``, readable without torch.

Shared by the checkpoint loader (:mod:`soundsift.model.checkpoint`), the model store and
the torch-free ONNX runtime.
"""
from __future__ import annotations

import json
from pathlib import Path

from soundsift.core.config import ModelConfig
from soundsift.errors import CheckpointError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".tar"}


def model_dir(path: str | Path) -> Path:
    """``path`` as a model directory, or a :class:`CheckpointError` saying why it is not one."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(f"{path}: pickle checkpoints are refused; a model is a directory with "
                                  f"{CONFIG_FILE} and {WEIGHTS_FILE}")
        raise CheckpointError(f"{path}: a model is a directory with {CONFIG_FILE} and {WEIGHTS_FILE}")
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such model directory")
    return path


def read_config(directory: str | Path) -> ModelConfig:
    """Read and validate ``config.json`` of a model directory."""
    path = model_dir(directory) / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: no {CONFIG_FILE}; not a soundsift model directory") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None
    return ModelConfig.from_dict(data, str(path))
