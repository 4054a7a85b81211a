"""The model a speed bench measures: a given one, or a fresh untrained one of the default size."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from safetensors import safe_open

from soundsift.model.config import EncoderSpec, ModelConfig, NetworkConfig
from soundsift.model.model_dir import WEIGHTS_FILE, read_config
from soundsift.runtime.layout import has_onnx_export

FRESH_NOTE = ("Untrained weights (seeded init) of the default `NetworkConfig()` with the compact query encoder: "
              "the same size and shape as a trained model, so the same speed; re-run the bench on the shipped "
              "default model with `--model default`.")


def fresh_default_model(folder: Path) -> Path:
    """Build (once) and export an untrained model of the default network config and the compact encoder."""
    model = folder / "fresh-default"
    if has_onnx_export(model):
        return model
    from soundsift.export_onnx import export_onnx
    from soundsift.model.checkpoint import save_checkpoint
    from soundsift.model.factory import init_model

    network, encoder = init_model(ModelConfig(network=NetworkConfig(), encoder=EncoderSpec(name="compact")))
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
