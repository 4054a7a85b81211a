"""The one training step loop (soundsift/training/step_loop.py): clipping, schedule, stopping and bookkeeping."""
from __future__ import annotations

import torch
from torch import nn

from soundsift.training.state import Progress
from soundsift.training.step_loop import Books, Cadence, StepLoop, StepReport, TrainingLog, keep_books


def _loss(weight: nn.Parameter) -> torch.Tensor:
    return (weight * 100.0).sum()  # a gradient of 100 per element


def test_gradients_are_clipped_and_the_schedule_sets_each_group_before_the_step() -> None:
    weight = nn.Parameter(torch.zeros(4))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    rates: list[float] = []
    loop = StepLoop(optimizer, [weight], grad_clip=1.0, schedule=lambda step, group: rates.append(step) or 0.5)
    loss = loop.update(_loss(weight), 7)
    assert loss == 0.0 and rates == [7] and optimizer.param_groups[0]["lr"] == 0.5
    assert torch.allclose(weight.detach(), torch.full((4,), -0.5 * 0.5))  # lr 0.5 x clipped gradient (norm 1)


def test_without_clipping_or_schedule_the_optimizer_steps_as_it_is() -> None:
    weight = nn.Parameter(torch.zeros(2))
    StepLoop(torch.optim.SGD([weight], lr=0.01)).update(_loss(weight), 0)
    assert torch.allclose(weight.detach(), torch.full((2,), -1.0))


def test_run_counts_steps_reports_each_and_stops_when_asked() -> None:
    weight = nn.Parameter(torch.zeros(1))
    loop = StepLoop(torch.optim.SGD([weight], lr=0.0))
    progress, seen = Progress(step=2), []
    assert loop.run(progress, 5, lambda: _loss(weight), lambda report: seen.append(report.step))
    assert progress.step == 5 and seen == [3, 4, 5]
    asked = iter([True, False])
    assert not loop.run(progress := Progress(), 5, lambda: _loss(weight), seen.append, lambda: next(asked))
    assert progress.step == 1


def test_bookkeeping_validates_logs_and_checkpoints_when_due(tmp_path) -> None:
    done: list[str] = []
    scores = iter([1.0, 0.5, 2.0])
    books = Books(Cadence(steps=6, validate_every=2, log_every=3, checkpoint_every=4), TrainingLog(tmp_path / "log.csv"),
                  lambda: next(scores), lambda: done.append("best"), lambda: done.append("checkpoint"))
    progress = Progress()
    for step in range(1, 7):
        keep_books(books, StepReport(step, 0.25, 1.0), progress, lr=0.1)
        done.append(f"step {step}")
    assert done == ["step 1", "best", "step 2", "step 3", "checkpoint", "step 4", "step 5", "best", "step 6"]
    assert progress.best_val_sdr == 2.0
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["2", "3", "4", "6"]  # validated steps, every 3rd, the last
