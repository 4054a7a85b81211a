"""Resumable state of a ``train clap`` run, saved atomically as safetensors + JSON (no pickle).

``RUN/checkpoint/`` holds ``weights/`` (a compact CLAP weights folder), ``optimizer.safetensors``
and ``trainer.json`` (step, optimizer hyper-parameters, random generator states).  A new
checkpoint is written beside the old one and swapped in, so a kill at any moment leaves
one complete checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.encoders.compact_model import CompactClap
from soundsift.model.encoders.compact_weights import read_weights, write_weights
from soundsift.training.state import join_optimizer_state, split_optimizer_state

WEIGHTS_DIR = "weights"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.json"


def save_run(run_dir: Path, model: CompactClap, optimizer: torch.optim.Optimizer, step: int,
             generator: torch.Generator) -> Path:
    """Write ``run_dir/checkpoint`` atomically."""
    target = run_dir / "checkpoint"
    with staged_folder(target) as staging:
        write_weights(staging / WEIGHTS_DIR, model)
        tensors, meta = split_optimizer_state(optimizer.state_dict())
        save_file(tensors, str(staging / OPTIMIZER_FILE))
        trainer = {"step": step, "optimizer": meta, "generator": generator.get_state().tolist(),
                   "torch": torch.random.get_rng_state().tolist()}
        (staging / TRAINER_FILE).write_text(json.dumps(trainer))
    return target


def has_checkpoint(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a complete checkpoint to resume from."""
    return (run_dir / "checkpoint" / TRAINER_FILE).is_file()


def load_run(run_dir: Path, model: CompactClap, optimizer: torch.optim.Optimizer,
             generator: torch.Generator) -> int:
    """Restore model, optimizer and generators from ``run_dir/checkpoint``; returns the step reached."""
    target = run_dir / "checkpoint"
    if not has_checkpoint(run_dir):
        raise CheckpointError(f"{run_dir}: no resumable checkpoint (missing checkpoint/{TRAINER_FILE})")
    saved = read_weights(target / WEIGHTS_DIR)
    if saved.config != model.config:
        raise CheckpointError(f"{target / WEIGHTS_DIR}: the saved model's config differs from this run's")
    model.load_state_dict(saved.state_dict())
    trainer = json.loads((target / TRAINER_FILE).read_text())
    optimizer.load_state_dict(join_optimizer_state(load_file(str(target / OPTIMIZER_FILE)), trainer["optimizer"]))
    generator.set_state(torch.tensor(trainer["generator"], dtype=torch.uint8))
    torch.random.set_rng_state(torch.tensor(trainer["torch"], dtype=torch.uint8))
    return int(trainer["step"])
