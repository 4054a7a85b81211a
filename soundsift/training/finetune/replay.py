"""Replay of the base model's own training data, so fine-tuning does not forget what it knew.

Replay items are single-source mixtures of mixtures from corpus folders (``manifest.jsonl``,
as ``python -m research data ...`` writes them), flagged as single sources so that the semi-supervised
regime gives them the supervised loss the default model was trained with.  The data is
often not on the user's machine; then fine-tuning runs without replay and says so.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from soundsift.errors import SoundsiftError
from soundsift.model.store import DEFAULT_MODEL
from soundsift.training.batches import BatchSource
from soundsift.training.recipe import DataRecipe
from soundsift.training.regimes import MixtureBatch

DEFAULT_RECIPE = "default-model"


def default_replay_corpora() -> list[Path]:
    """The default model's training corpora, where they exist under the current folder (its recipe's paths)."""
    from soundsift.training.recipe import load_recipe

    return [Path(c) for c in load_recipe(DEFAULT_RECIPE).data.corpora]


def find_replay(requested: Sequence[str | Path], base: str) -> tuple[list[Path], str]:
    """The replay corpora to use and a line saying what was found.

    Folders given explicitly must exist; with none given and the bundled default model as
    base, its recipe's corpora are used when all of them are present.
    """
    if requested:
        paths = [Path(p).expanduser() for p in requested]
        absent = [str(p) for p in paths if not (p / "manifest.jsonl").is_file()]
        if absent:
            raise SoundsiftError(f"replay corpus folder(s) without a manifest.jsonl: {', '.join(absent)}")
        return paths, f"replay: {', '.join(str(p) for p in paths)}"
    if base != DEFAULT_MODEL:
        return [], f"replay: off (no --replay corpus given for base '{base}')"
    corpora = default_replay_corpora()
    present = [p for p in corpora if (p / "manifest.jsonl").is_file()]
    if present and len(present) == len(corpora):
        return present, f"replay: the default model's corpora {', '.join(str(p) for p in present)}"
    return [], ("replay: off; the default model's training data (" + ", ".join(str(p) for p in corpora)
                + ") is not here. Build it as docs/default_model.md says, or pass --replay DIR, so the "
                "model keeps what it knew; without it, fine-tuning may forget sounds outside your library")


class ReplaySource:
    """Batches of single-source mixtures of mixtures from the replay corpora, at a fixed length."""

    def __init__(self, corpora: Sequence[Path], sample_rate: int, seconds: float, batch_size: int) -> None:
        data = DataRecipe(corpora=tuple(str(c) for c in corpora), sources_per_part=1, parts=2, seconds=seconds)
        self.source = BatchSource(data, sample_rate, batch_size)
        self.samples = round(seconds * sample_rate)

    def next(self, rng: np.random.Generator) -> MixtureBatch:
        batch = self.source.next(rng)
        parts = batch.parts[..., : self.samples]
        parts = torch.nn.functional.pad(parts, (0, self.samples - parts.shape[-1]))
        return MixtureBatch(parts, batch.captions, torch.ones_like(batch.single))


def combine(first: MixtureBatch, second: MixtureBatch) -> MixtureBatch:
    """One batch holding the items of both (same number of parts and samples)."""
    return MixtureBatch(torch.cat([first.parts, second.parts]), first.captions + second.captions,
                        torch.cat([first.single, second.single]))
