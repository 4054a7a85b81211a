"""Checkpoint format: a directory holding ``config.json`` and ``model.safetensors``.

Nothing on the load path unpickles: weights are read with safetensors only, and files that
look like pickles (``torch.save`` output) are refused with a clear error.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from soundsift.core.config import ModelConfig
from soundsift.core.model_dir import CONFIG_FILE, WEIGHTS_FILE, model_dir, read_config
from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.encoders import QueryEncoder, build_encoder
from soundsift.model.network import SeparatorNetwork, build_network

__all__ = ["load_checkpoint", "load_network_weights", "save_checkpoint"]
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def save_checkpoint(directory: str | Path, network: SeparatorNetwork, encoder: QueryEncoder) -> Path:
    """Write ``network`` (with its encoder's record) to ``directory``, replacing it atomically."""
    directory = Path(directory)
    config = network.config
    if config.encoder != encoder.spec():
        raise CheckpointError("the network's config does not record the encoder it is saved with")
    with staged_folder(directory) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": "soundsift"})
    return directory


def load_checkpoint(
    directory: str | Path, device: torch.device | str = "cpu", encoder_options: Mapping[str, Any] | None = None
) -> tuple[SeparatorNetwork, QueryEncoder]:
    """Load a model directory: build encoder and network from the config, then the weights.

    ``encoder_options`` override the recorded encoder options (e.g. where a LAION checkpoint
    lives on this machine); the encoder must still match the recorded fingerprint.
    """
    directory = model_dir(directory)
    config = read_config(directory)
    spec = config.encoder
    if encoder_options:
        spec = dataclasses.replace(spec, options={**spec.options, **encoder_options})
    encoder = build_encoder(spec)
    weights = directory / WEIGHTS_FILE
    _check_fit(weights, _stored_shapes(weights), _config_shapes(config, encoder))
    network = build_network(config, encoder.dim, encoder.token_dim)  # allocates only what the file holds
    network.load_state_dict(_load_weights(weights))
    network.eval()
    return network.to(device), encoder.to(device)


def load_network_weights(
    directory: str | Path, expected: Mapping[str, tuple[int, ...]], against: str
) -> dict[str, torch.Tensor]:
    """The separator weights of a model directory as tensors, without building its query encoder
    (for a warm start), refused in one line unless they have the ``expected`` shapes of ``against``."""
    weights = model_dir(directory) / WEIGHTS_FILE
    _check_fit(weights, _stored_shapes(weights), dict(expected), against)
    return _load_weights(weights)


def _refuse_pickles(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {WEIGHTS_FILE}")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(_PICKLE_MAGIC):
        raise CheckpointError(f"{path}: holds a pickle payload, which is refused; weights must be safetensors")


def _stored_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes a weights file holds, from its header (no tensor is read)."""
    _refuse_pickles(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from None


def _config_shapes(config: ModelConfig, encoder: QueryEncoder) -> dict[str, tuple[int, ...]]:
    """The tensor shapes the network of ``config`` has, from a build on the meta device (nothing allocated)."""
    with torch.device("meta"):
        network = build_network(config, encoder.dim, encoder.token_dim)
    return {key: tuple(value.shape) for key, value in network.state_dict().items()}


def _check_fit(path: Path, stored: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]],
               against: str = "config.json") -> None:
    """Refuse weights that do not fit ``against``, in one line: how many tensors differ and the first of each kind."""
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    reshaped = sorted(k for k in set(stored) & set(expected) if stored[k] != expected[k])
    problems = [f"{len(keys)} {kind}, e.g. {keys[0]}" for kind, keys in (("missing", missing),
                                                                          ("unexpected", unexpected)) if keys]
    if reshaped:
        key = reshaped[0]
        problems.append(f"{len(reshaped)} of another shape, e.g. {key} is {stored[key]} where {against} has "
                        f"{expected[key]}")
    if problems:
        raise CheckpointError(f"{path}: weights do not match {against} (tensors: {'; '.join(problems)})")


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    _refuse_pickles(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from None
