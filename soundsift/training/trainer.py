"""The separator trainer: single process or torchrun/DDP, resumable, logged, validated.

Run under ``torchrun --nproc_per_node K`` for data-parallel training: each process draws
its own batches (seed + rank), gradients are averaged by DistributedDataParallel (gloo on
CPU, NCCL on CUDA), and rank 0 alone writes checkpoints, logs and plots.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from soundsift.model.checkpoint import save_checkpoint
from soundsift.model.encoders import QueryEncoder
from soundsift.model.factory import init_model
from soundsift.model.network import SeparatorNetwork
from soundsift.separator import Separator, resolve_device
from soundsift.training.batches import BatchSource
from soundsift.training.model_vocabulary import vocabulary_from_entries
from soundsift.training.recipe import Recipe
from soundsift.training.regimes import REGIMES, MixtureBatch, absent_loss
from soundsift.training.state import Progress, load_state, save_state
from soundsift.training.step_loop import Books, Cadence, StepLoop, StepReport, TrainingLog, keep_books
from soundsift.training.warm_start import warm_start
from soundsift.vocabulary import Vocabulary, write_vocabulary


@dataclass(frozen=True)
class Rank:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> Rank:
    """Join the process group torchrun describes in the environment (no-op when run alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Rank()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Rank(dist.get_rank(), dist.get_world_size())


class RegimeLoss(nn.Module):
    """Wraps network + frozen encoder so that DDP sees one forward: batch -> mean loss."""

    def __init__(self, network: SeparatorNetwork, encoder: QueryEncoder, recipe: Recipe) -> None:
        super().__init__()
        self.network = network
        self.encoder = encoder.requires_grad_(False).eval()
        self.loss_fn = REGIMES[recipe.regime]
        self.weights = recipe.loss

    def forward(self, batch: MixtureBatch) -> torch.Tensor:
        loss = self.loss_fn(self.network, self.encoder, batch, self.weights)
        if batch.absent is not None:
            loss = loss + absent_loss(self.network, self.encoder, batch, self.weights)
        return loss.mean()


def _optimizer(recipe: Recipe) -> Callable[..., torch.optim.Optimizer]:
    return lambda params: torch.optim.AdamW(params, lr=recipe.optim.lr, weight_decay=recipe.optim.weight_decay)


def _start(
    recipe: Recipe, run_dir: Path, resume: bool, device: torch.device, rng: np.random.Generator
) -> tuple[SeparatorNetwork, QueryEncoder, torch.optim.Optimizer, Progress]:
    """Fresh model and optimizer, or the state of the last checkpoint when resuming.

    A fresh network starts from ``recipe.init_from``'s weights when the recipe names one (warm start);
    a resumed run keeps its checkpoint's weights."""
    if resume and (run_dir / "checkpoint").is_dir():
        return load_state(run_dir, _optimizer(recipe), rng, device)
    network, encoder = init_model(recipe.model, seed=recipe.optim.seed)
    if recipe.init_from is not None:
        warm_start(network, recipe.init_from, recipe.init_across_encoders)
    network, encoder = network.to(device).train(), encoder.to(device)
    return network, encoder, _optimizer(recipe)(network.parameters()), Progress()


def _validate(recipe: Recipe, network: SeparatorNetwork, encoder: QueryEncoder, testset: list,
              device: torch.device) -> float:
    """Mean SDRi over the validation mixtures (the network is put back in training mode)."""
    from soundsift.training import evaluate as ev

    try:
        estimator = (ev.oracle_slot_estimator(network.eval()) if recipe.regime == "mixit"
                     else ev.separator_estimator(Separator(network, encoder, device)))
        scores = ev.evaluate(estimator, testset, network.config.stft)
    finally:
        network.train()
    return float(np.mean([s.sdri for s in scores]))


def _absent_level(network: SeparatorNetwork, encoder: QueryEncoder, testset: list,
                  device: torch.device) -> dict[str, float]:
    """``val_absent_db``: the median output level (dB re mixture) of queries for classes absent from
    each validation mixture (:mod:`soundsift.training.absent_eval`); logged, never used to pick the best model."""
    from soundsift.training import absent_eval
    from soundsift.training import evaluate as ev

    try:
        scores = absent_eval.absent_levels(ev.separator_estimator(Separator(network, encoder, device)), testset)
    finally:
        network.train()
    level = absent_eval.median_level(scores)
    return {} if level is None else {"val_absent_db": level}


def _absent_scorer(recipe: Recipe, network: SeparatorNetwork, encoder: QueryEncoder, testset: list,
                   device: torch.device) -> Callable[[], dict[str, float]] | None:
    """The absent-query level for regimes that query by text and have validation mixtures, else None."""
    if not testset or recipe.regime == "mixit":
        return None
    return lambda: _absent_level(network, encoder, testset, device)


def train(recipe: Recipe, run_dir: Path, resume: bool = False, device: str = "auto",
          progress_bar: bool = True) -> Progress:
    """Train ``recipe`` into ``run_dir`` (checkpoint/, best/, log.csv, training.png, snapshots/)."""
    dev = resolve_device(device)
    rank = init_distributed(dev)
    if dev.type == "cuda" and rank.world > 1:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    rng = np.random.default_rng(recipe.optim.seed + rank.rank)
    network, encoder, optimizer, progress = _start(recipe, run_dir, resume, dev, rng)
    if rank.world > 1:
        rng = np.random.default_rng([recipe.optim.seed, rank.rank, progress.step])
    module: nn.Module = RegimeLoss(network, encoder, recipe)
    if rank.world > 1:
        module = DistributedDataParallel(module, device_ids=[dev.index] if dev.type == "cuda" else None)
    source = BatchSource(recipe.data, recipe.model.stft.sample_rate, recipe.optim.batch_size)
    testset = _validation_set(recipe) if rank.main else []
    vocabulary = vocabulary_from_entries(clip.entry for clip in source.pool.clips)
    if rank.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    log = TrainingLog(run_dir / "log.csv", progress.step) if rank.main else None
    bar = _progress(recipe, progress, progress_bar and rank.main)
    optim = recipe.optim
    loop = StepLoop(optimizer, list(network.parameters()), optim.grad_clip, lambda step, group: optim.lr_at(step))
    books = Books(Cadence(optim.steps, optim.validate_every, optim.log_every, optim.checkpoint_every), log,
                  (lambda: _validate(recipe, network, encoder, testset, dev)) if testset else None,
                  lambda: _save_model(run_dir / "best", network, encoder, vocabulary),
                  lambda: save_state(run_dir, network, encoder, optimizer, progress, rng),
                  _absent_scorer(recipe, network, encoder, testset, dev))

    def after_step(report: StepReport) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{report.loss:.4f}")
        if rank.main:
            keep_books(books, report, progress, optimizer.param_groups[0]["lr"])
            if optim.keep_every and report.step % optim.keep_every == 0:
                _save_model(run_dir / "snapshots" / f"step-{report.step}", network, encoder, vocabulary)

    loop.run(progress, optim.steps, lambda: module(_to(source.next(rng), dev)), after_step)
    bar.close()
    if rank.main:
        save_state(run_dir, network, encoder, optimizer, progress, rng)
        from soundsift.training.plots import plot_log

        plot_log(run_dir / "log.csv", run_dir / "training.png", title=recipe.name)
    if rank.world > 1:
        dist.barrier()
    return progress


def _save_model(directory: Path, network: SeparatorNetwork, encoder: QueryEncoder, vocabulary: Vocabulary) -> None:
    """A model directory that also carries what the model was trained on (``vocabulary.json``)."""
    save_checkpoint(directory, network, encoder)
    write_vocabulary(directory, vocabulary)


def _validation_set(recipe: Recipe) -> list:
    if recipe.data.validation is None:
        return []
    from soundsift.training.evaluate import load_testset

    held_out = set(recipe.data.exclude_classes)
    if not held_out:
        return load_testset(recipe.data.validation, recipe.data.validation_limit)
    testset = load_testset(recipe.data.validation)
    seen = [item for item in testset if not held_out & set(item.labels)]  # held-out classes stay unseen
    return seen[: recipe.data.validation_limit]


def _progress(recipe: Recipe, progress: Progress, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=recipe.optim.steps, initial=progress.step, desc=recipe.name, unit="step",
                disable=not enabled)


def _to(batch: MixtureBatch, device: torch.device) -> MixtureBatch:
    return batch.to(device)
