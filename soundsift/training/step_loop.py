"""The one training step loop: zero_grad -> backward -> clip -> learning rate -> step, then bookkeeping.

Separator training (:mod:`soundsift.training.trainer`), fine-tuning (:mod:`soundsift.training.finetune.run`)
and the lab's CLAP training all step through :class:`StepLoop`; the first two also share
:func:`keep_books` (validate and keep the best model, log a CSV row, checkpoint) and :class:`TrainingLog`.
"""
from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from soundsift.training.state import Progress

LOG_FIELDS = ("step", "loss", "lr", "elapsed_s", "val_sdri", "val_absent_db")

# the learning rate of a parameter group at a (0-based) step: (step, param_group) -> lr
Schedule = Callable[[int, dict[str, Any]], float]


@dataclass(frozen=True)
class StepReport:
    """What one finished step hands to the bookkeeping: its number (1-based), loss and seconds since the start."""

    step: int
    loss: float
    elapsed_s: float


@dataclass
class StepLoop:
    """Optimizer steps until a step count; ``grad_clip`` (None: no clipping) bounds the gradient norm of
    ``parameters`` and ``schedule`` (None: the optimizer's rates stay) sets each group's rate before the step."""

    optimizer: torch.optim.Optimizer
    parameters: list[nn.Parameter] = field(default_factory=list)
    grad_clip: float | None = None
    schedule: Schedule | None = None

    def update(self, loss: torch.Tensor, step: int) -> float:
        """One optimizer step on ``loss`` as step ``step`` (0-based); returns the loss as a number."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
        if self.schedule is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.schedule(step, group)
        self.optimizer.step()
        return float(loss.detach())

    def run(self, progress: Progress, steps: int, next_loss: Callable[[], torch.Tensor],
            after_step: Callable[[StepReport], None], go_on: Callable[[], bool] | None = None) -> bool:
        """Step ``progress`` up to ``steps``, calling ``after_step`` after each step; False when ``go_on``
        (asked before each step) says to stop first."""
        started = time.monotonic()
        while progress.step < steps:
            if go_on is not None and not go_on():
                return False
            loss = self.update(next_loss(), progress.step)
            progress.step += 1
            after_step(StepReport(progress.step, loss, time.monotonic() - started))
        return True


class TrainingLog:
    """Appends one CSV row per logged step, kept across resumes.

    Rows after ``resumed_step`` (logged after the last checkpoint by a run that was then
    killed) are dropped, so the log has each step once.
    """

    def __init__(self, path: Path, resumed_step: int = 0) -> None:
        self.path = path
        rows = list(csv.reader(path.open(newline=""))) if path.exists() else [list(LOG_FIELDS)]
        kept = [list(LOG_FIELDS)] + [r for r in rows[1:] if r and int(r[0]) <= resumed_step]  # older logs gain new columns
        with path.open("w", newline="") as f:
            csv.writer(f).writerows(kept)

    def write(self, **row: float | str) -> None:
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in LOG_FIELDS])


@dataclass(frozen=True)
class Cadence:
    """How often a run validates, logs and checkpoints (validation and logging also at the last step)."""

    steps: int
    validate_every: int
    log_every: int
    checkpoint_every: int


@dataclass(frozen=True)
class Books:
    """Where a run's bookkeeping goes: its log (None: not this process), scorer (None: nothing to score),
    and what saves the best model and the checkpoint.  ``more_scores`` (optional) gives further
    validation columns of the log (e.g. ``val_absent_db``); only ``score`` picks the best model."""

    cadence: Cadence
    log: TrainingLog | None
    score: Callable[[], float] | None
    save_best: Callable[[], None]
    checkpoint: Callable[[], None]
    more_scores: Callable[[], dict[str, float]] | None = None


def keep_books(books: Books, report: StepReport, progress: Progress, lr: float) -> None:
    """After a step: validate (keeping the best model), log a row, checkpoint, each when it is due."""
    step, cadence = report.step, books.cadence
    last = step == cadence.steps
    row: dict[str, float] = {}
    if books.score is not None and (step % cadence.validate_every == 0 or last):
        row["val_sdri"] = round(books.score(), 4)
        if row["val_sdri"] > progress.best_val_sdr:
            progress.best_val_sdr = row["val_sdri"]
            books.save_best()
        if books.more_scores is not None:
            row.update({key: round(value, 4) for key, value in books.more_scores().items()})
    if books.log is not None and (row or step % cadence.log_every == 0 or last):
        books.log.write(step=step, loss=round(report.loss, 6), lr=lr, elapsed_s=round(report.elapsed_s, 2), **row)
    if step % cadence.checkpoint_every == 0:
        books.checkpoint()

