"""Replay of the base model's own training data, so fine-tuning does not forget what it knew.

Replay items are single-source mixtures of mixtures from corpus folders (``manifest.jsonl``,
as ``python -m research data ...`` writes them), flagged as single sources so that the semi-supervised
regime gives them the supervised loss the default model was trained with.  The data is
often not on the user's machine; then the replay pack shipped with soundsift (a few clips per
class, ``soundsift/pretrained/replay``, built by ``python -m research replaypack``) stands in.
The pack's test clips make the check set of known sounds the forgetting report scores.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import SoundsiftError
from soundsift.training.batches import BatchSource
from soundsift.training.data.mixtures import ClipPool, MixtureSampler
from soundsift.training.evaluate import TestMixture
from soundsift.training.recipe import DataRecipe
from soundsift.training.regimes import MixtureBatch

DEFAULT_RECIPE = "default-model-v3"
PACK_DIR = Path(__file__).resolve().parents[2] / "pretrained" / "replay"
CHECK_MIXTURES = 16


def default_replay_corpora() -> list[Path]:
    """The default model's training corpora, where they exist under the current folder (its recipe's paths)."""
    from soundsift.training.recipe import load_recipe

    return [Path(c) for c in load_recipe(DEFAULT_RECIPE).data.corpora]


def find_replay(requested: Sequence[str | Path], base: str) -> tuple[list[Path], str]:
    """The replay corpora to use and a line saying what was found.

    Folders given explicitly must exist; with none given and the bundled default model as
    base, its recipe's corpora are used when all of them are present, and else the replay pack.
    """
    if requested:
        paths = [Path(p).expanduser() for p in requested]
        absent = [str(p) for p in paths if not (p / "manifest.jsonl").is_file()]
        if absent:
            raise SoundsiftError(f"replay corpus folder(s) without a manifest.jsonl: {', '.join(absent)}")
        return paths, f"replay: {', '.join(str(p) for p in paths)}"
    corpora = default_replay_corpora() if base == DEFAULT_MODEL else []
    present = [p for p in corpora if (p / "manifest.jsonl").is_file()]
    if present and len(present) == len(corpora):
        return present, f"replay: the default model's corpora {', '.join(str(p) for p in present)}"
    if (PACK_DIR / "manifest.jsonl").is_file():
        return [PACK_DIR], "replay: the replay pack shipped with soundsift"
    return [], "replay: off (no --replay corpus given and no replay pack installed)"


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


def check_mixtures(sample_rate: int, count: int = CHECK_MIXTURES, seed: int = 0, pack: Path = PACK_DIR
                   ) -> list[TestMixture]:
    """The forgetting check: ``count`` seeded 2-source mixtures of the pack's test clips (none when it has none)."""
    if not (pack / "manifest.jsonl").is_file():
        return []
    try:
        pool = ClipPool.from_corpora([pack], "test", sample_rate=sample_rate)
    except SoundsiftError:
        return []
    sampler = MixtureSampler(pool, n_sources=2)
    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        mixture = sampler.sample(rng)
        items.append(TestMixture(f"check-{i}", mixture.audio, mixture.sources, mixture.labels,
                                 tuple(c.entry.caption for c in mixture.clips), sample_rate,
                                 tuple(c.entry.labels for c in mixture.clips)))
    return items
