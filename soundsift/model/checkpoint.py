"""Checkpoint format: a directory holding ``config.json`` and ``model.safetensors``.

Nothing on the load path unpickles: weights are read with safetensors only, and files that
look like pickles (``torch.save`` output) are refused with a clear error.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from soundsift.errors import CheckpointError
from soundsift.model.encoders import QueryEncoder, build_encoder
from soundsift.model.model_dir import CONFIG_FILE, WEIGHTS_FILE, model_dir, read_config
from soundsift.model.network import SeparatorNetwork, build_network

__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "load_checkpoint", "read_config", "save_checkpoint"]
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def save_checkpoint(directory: str | Path, network: SeparatorNetwork, encoder: QueryEncoder) -> Path:
    """Write ``network`` (with its encoder's record) to ``directory``, replacing it atomically."""
    directory = Path(directory)
    config = network.config
    if config.encoder != encoder.spec():
        raise CheckpointError("the network's config does not record the encoder it is saved with")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": "soundsift"})
        _swap_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def _swap_into_place(staging: Path, directory: Path) -> None:
    """Rename ``staging`` to ``directory``; an old directory is kept until the new one is in place."""
    if not directory.exists():
        os.replace(staging, directory)
        return
    old = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(directory, old)
    os.replace(staging, directory)
    shutil.rmtree(old, ignore_errors=True)


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
    network = build_network(config, encoder.dim, encoder.token_dim)
    state = _load_weights(directory / WEIGHTS_FILE)
    missing, unexpected = _key_mismatch(network, state)
    if missing or unexpected:
        raise CheckpointError(
            f"{directory / WEIGHTS_FILE}: weights do not match config.json "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})"
        )
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{directory / WEIGHTS_FILE}: weights do not match config.json ({exc})") from None
    network.eval()
    return network.to(device), encoder.to(device)


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {WEIGHTS_FILE}")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(_PICKLE_MAGIC):
        raise CheckpointError(f"{path}: holds a pickle payload, which is refused; weights must be safetensors")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from None


def _key_mismatch(network: SeparatorNetwork, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    expected = set(network.state_dict())
    return sorted(expected - set(state)), sorted(set(state) - expected)
