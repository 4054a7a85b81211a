"""Training batches drawn on the fly from corpora, as :class:`MixtureBatch` objects.

Each item is a mixture of ``parts`` captioned parts; a part holds ``sources_per_part``
clips of distinct classes (single sources when 1).  For the semi-supervised regime a
fraction ``single_fraction`` of the items is built from single sources with label captions.
``labelled_fraction`` limits the single sources to a seeded per-class subset of the clips
(the "5% single-source data" settings); mixtures may use every clip.  All randomness comes from the generator the caller passes, so a seeded run is repeatable.
"""
from __future__ import annotations

import numpy as np
import torch

from soundsift.training.data.mixtures import ClipPool, MixtureSampler
from soundsift.training.recipe import DataRecipe
from soundsift.training.regimes import MixtureBatch


def labelled_subset(pool: ClipPool, fraction: float, seed: int) -> ClipPool:
    """A seeded subset with ``fraction`` of each class's clips (at least one per class)."""
    if fraction >= 1.0:
        return pool
    rng = np.random.default_rng(seed)
    keep = []
    for label in pool.labels:
        clips = pool.by_label[label]
        count = max(1, round(fraction * len(clips)))
        keep += [clips[i] for i in sorted(rng.choice(len(clips), size=count, replace=False))]
    return ClipPool(keep, pool.sample_rate, pool.samples)


class BatchSource:
    """Draws batches of mixtures-of-mixtures from the train split of the recipe's corpora."""

    def __init__(self, data: DataRecipe, sample_rate: int, batch_size: int) -> None:
        pool = ClipPool.from_corpora(data.corpora, "train", data.categories, sample_rate)
        self.data = data
        self.batch_size = batch_size
        self.samples = min(round(data.seconds * sample_rate), pool.samples)
        weights = data.category_weights
        self.weak = MixtureSampler(pool, data.sources_per_part, data.gain_db, weights)
        single_pool = labelled_subset(pool, data.labelled_fraction, data.subset_seed)
        self.single = MixtureSampler(single_pool, 1, data.gain_db, weights)

    def _item(self, rng: np.random.Generator) -> tuple[np.ndarray, list[str], bool]:
        single = self.data.sources_per_part == 1 or rng.random() < self.data.single_fraction
        sampler = self.single if single else self.weak
        mom = sampler.mixture_of_mixtures(rng, self.data.parts)
        start = int(rng.integers(0, mom.audio.shape[-1] - self.samples + 1))
        parts = np.stack([m.audio[start : start + self.samples] for m in mom.mixtures])
        return parts, [m.caption for m in mom.mixtures], single

    def next(self, rng: np.random.Generator) -> MixtureBatch:
        """One batch. Shapes: parts (batch, parts, samples)."""
        items = [self._item(rng) for _ in range(self.batch_size)]
        parts = torch.from_numpy(np.stack([i[0] for i in items]).astype(np.float32))
        single = torch.tensor([[i[2]] * self.data.parts for i in items])
        return MixtureBatch(parts, [i[1] for i in items], single)
