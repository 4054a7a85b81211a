"""The model a speed bench measures: a given one, or a fresh untrained one of any network shape."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from safetensors import safe_open

from soundsift.core.config import EncoderSpec, ModelConfig, NetworkConfig
from soundsift.core.model_dir import WEIGHTS_FILE, read_config
from soundsift.errors import InvalidArgumentError
from soundsift.runtime.layout import has_onnx_export

FRESH_NOTE = ("Untrained weights (seeded init) with the compact query encoder: the same size and shape as a "
              "trained model of this config, so the same speed; re-run the bench on the shipped default model "
              "with `--model default`.")


def fresh_model(folder: Path, overrides: dict[str, Any]) -> Path:
    """Build (once) and export an untrained model of ``NetworkConfig(**overrides)`` with the compact encoder."""
    try:
        network_config = NetworkConfig(**overrides)
    except TypeError as exc:
        raise InvalidArgumentError(f"--fresh-model: not a NetworkConfig ({exc})") from None
    key = json.dumps(overrides, sort_keys=True)
    model = folder / ("fresh-default" if not overrides else f"fresh-{hashlib.sha1(key.encode()).hexdigest()[:10]}")
    if has_onnx_export(model) and read_config(model).network == network_config:
        return model
    from soundsift.export_onnx import export_onnx
    from soundsift.model.checkpoint import save_checkpoint
    from soundsift.model.factory import init_model

    network, encoder = init_model(ModelConfig(network=network_config, encoder=EncoderSpec(name="compact")))
    save_checkpoint(model, network, encoder)
    return export_onnx(model)


def describe(model: Path) -> str:
    """One line: the network config and parameter count, from config.json and the weights' header."""
    config = read_config(model)
    with safe_open(str(model / WEIGHTS_FILE), framework="numpy") as weights:
        count = sum(_numel(weights.get_slice(key).get_shape()) for key in weights.keys())  # noqa: SIM118 (not a dict)
    fields = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(config.network).items())
    return f"`{model.name}`, NetworkConfig({fields}), {count / 1e6:.2f} M parameters, encoder '{config.encoder.name}'"


def _numel(shape: list[int]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total
