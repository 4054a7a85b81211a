"""Resumable training state: model, optimizer, step and random generators, saved atomically.

A run folder holds ``checkpoint/`` (a model directory loadable by :class:`soundsift.Separator`,
plus ``optimizer.safetensors`` and ``trainer.json``).  Saving writes a new folder and swaps it
in, so a kill at any moment leaves either the previous checkpoint or the new one, never a
mix.  Everything is safetensors or JSON: nothing is pickled.
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from soundsift.core.model_dir import CONFIG_FILE, WEIGHTS_FILE
from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.checkpoint import load_checkpoint, save_checkpoint
from soundsift.model.encoders import QueryEncoder
from soundsift.model.network import SeparatorNetwork

OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.json"


@dataclass
class Progress:
    """Where a run stands: steps done and the best validation score so far."""

    step: int = 0
    best_val_sdr: float = float("-inf")


def split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (for safetensors) and JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{param_id}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def join_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """The optimizer state dict that :func:`split_optimizer_state` split."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    for param_id, slots in meta["scalars"].items():
        state.setdefault(int(param_id), {}).update(slots)
    return {"state": state, "param_groups": meta["param_groups"]}


def _rng_state(generator: np.random.Generator) -> dict[str, Any]:
    return {
        "numpy": generator.bit_generator.state,
        "python": list(random.getstate()[1]),
        "torch": torch.random.get_rng_state().tolist(),
    }


def _restore_rng(generator: np.random.Generator, saved: dict[str, Any]) -> None:
    generator.bit_generator.state = saved["numpy"]
    random.setstate((3, tuple(saved["python"]), None))
    torch.random.set_rng_state(torch.tensor(saved["torch"], dtype=torch.uint8))


def save_state(
    run_dir: Path,
    network: SeparatorNetwork,
    encoder: QueryEncoder,
    optimizer: torch.optim.Optimizer,
    progress: Progress,
    generator: np.random.Generator,
) -> Path:
    """Write ``run_dir/checkpoint`` atomically (weights, optimizer, step, RNG states)."""
    target = run_dir / "checkpoint"
    with staged_folder(target) as staging:
        model_dir = save_checkpoint(staging / "model", network, encoder)
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            os.replace(model_dir / name, staging / name)
        model_dir.rmdir()
        tensors, meta = split_optimizer_state(optimizer.state_dict())
        save_file(tensors, str(staging / OPTIMIZER_FILE))
        trainer = {"step": progress.step, "best_val_sdr": progress.best_val_sdr, "optimizer": meta,
                   "rng": _rng_state(generator)}
        (staging / TRAINER_FILE).write_text(json.dumps(trainer))
    return target


def load_state(
    run_dir: Path, optimizer_factory: Any, generator: np.random.Generator, device: torch.device | str = "cpu"
) -> tuple[SeparatorNetwork, QueryEncoder, torch.optim.Optimizer, Progress]:
    """Resume from ``run_dir/checkpoint``; ``optimizer_factory(params)`` builds the optimizer."""
    target = run_dir / "checkpoint"
    if not (target / TRAINER_FILE).is_file():
        raise CheckpointError(f"{run_dir}: no resumable checkpoint (missing checkpoint/{TRAINER_FILE})")
    network, encoder = load_checkpoint(target, device)
    network.train()
    try:
        tensors = load_file(str(target / OPTIMIZER_FILE), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{target / OPTIMIZER_FILE}: damaged or missing ({exc})") from None
    optimizer = optimizer_factory(network.parameters())
    try:
        trainer = json.loads((target / TRAINER_FILE).read_text(encoding="utf-8"))
        optimizer.load_state_dict(join_optimizer_state(tensors, trainer["optimizer"]))
        _restore_rng(generator, trainer["rng"])
        progress = Progress(int(trainer["step"]), float(trainer["best_val_sdr"]))
    except KeyError as exc:
        raise CheckpointError(f"{target / TRAINER_FILE}: damaged (no {exc} entry)") from None
    except (OSError, ValueError, TypeError, AttributeError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"{target / TRAINER_FILE}: damaged ({exc})") from None
    return network, encoder, optimizer, progress
