"""A compact CLAP weights folder: ``config.json`` and ``model.safetensors``, written atomically.

The package ships one in ``soundsift/pretrained/encoders/compact/``; ``soundsift train
clap`` writes others.  Nothing here unpickles.
"""
from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.encoders.compact_model import CompactClap, CompactConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "pretrained" / "encoders" / "compact"


def write_weights(directory: str | Path, model: CompactClap) -> Path:
    """Write ``model`` to ``directory`` (replacing what was there only once the new files are complete)."""
    directory = Path(directory)
    with staged_folder(directory) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(model.config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": "soundsift-compact-clap"})
    return directory


def read_weights(directory: str | Path) -> CompactClap:
    """Build the model a weights folder describes and load its tensors (strictly: every key, every shape)."""
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CheckpointError(f"{path}: missing; a compact CLAP weights folder holds {CONFIG_FILE} and "
                                  f"{WEIGHTS_FILE} (made by 'python -m research clap')")
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{config_path}: cannot be read as JSON ({exc})") from None
    model = CompactClap(CompactConfig.from_dict(data, str(config_path)))
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights_path}: cannot be read as safetensors ({exc})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        shapes = [f"{k}: {tuple(state[k].shape)} != {tuple(expected[k].shape)}" for k in wrong]
        raise CheckpointError(f"{weights_path}: does not fit {config_path}; missing {missing}, "
                              f"unexpected {unexpected}, wrong shapes {shapes}")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return model.eval()

