"""Training batches drawn on the fly from corpora, as :class:`MixtureBatch` objects.

Each item is a mixture of ``parts`` captioned parts; a part holds ``sources_per_part``
clips of distinct classes (single sources when 1).  For the semi-supervised regime the
first ``round(single_fraction * batch_size)`` items of every batch (at least one when the
fraction is above 0) are built from single sources with label captions.
``labelled_fraction`` limits the single sources to a seeded per-class subset of the clips
(the "5% single-source data" settings); mixtures may use every clip.  All randomness comes from the generator the caller passes, so a seeded run is repeatable.

Query by example (``docs/query_by_example.md``): ``exclude_classes`` drops every clip
carrying one of those labels from the pool, so those classes never reach the separator;
with ``audio_query_fraction`` > 0 that fraction of the items has each single-source part
queried by another clip of the same class (a reference drawn from the train split, never
the part's own clip; ``audio_query_source = "other"``) or by the part's own audio
(``"self"``, as Chen et al.'s code trains) instead of its caption.

With ``paraphrase_fraction`` > 0 single-source parts are sometimes queried by a held-in
wording of their class; with ``absent_fraction`` > 0 that share of the items also carries a
query for a class in none of its parts, whose target is silence
(:mod:`soundsift.training.query_words`, :func:`soundsift.training.regimes.absent_loss`).

With ``augment_speed`` / ``augment_eq_db`` set, each part is changed at random
(:mod:`soundsift.training.source_augment`) before the parts are summed; the changed part
is also the target.  Off by default, and then no random numbers are drawn for it.
With ``sim_to_real`` above 0, that share of the parts then goes through a simulated
recording chain (:mod:`soundsift.training.sim_to_real`: room, microphone, noise floor,
compressor, codec, gain, speed), the changed part again being the target.
"""
from __future__ import annotations

import numpy as np
import torch

from soundsift.errors import SoundsiftError
from soundsift.training.data.mixtures import ClipPool, MixtureOfMixtures, MixtureSampler
from soundsift.training.query_words import QueryWords
from soundsift.training.recipe import DataRecipe
from soundsift.training.regimes import MixtureBatch
from soundsift.training.sim_to_real import simulate_chain
from soundsift.training.source_augment import augment_part


def without_classes(pool: ClipPool, classes: tuple[str, ...]) -> ClipPool:
    """The pool without clips that carry any of ``classes`` among their labels."""
    if not classes:
        return pool
    unknown = sorted(set(classes) - {label for c in pool.clips for label in c.entry.labels})
    if unknown:
        raise SoundsiftError(f"exclude_classes names labels the corpora do not have: {unknown}")
    held_out = set(classes)
    return ClipPool([c for c in pool.clips if not held_out & set(c.entry.labels)], pool.sample_rate, pool.samples)


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


def _labelled_items(fraction: float, batch_size: int) -> int:
    """How many items of a batch are single-source ones: ``round(fraction * batch_size)``, at least one if ``fraction`` > 0."""
    return min(batch_size, max(round(fraction * batch_size), 1)) if fraction > 0 else 0


class BatchSource:
    """Draws batches of mixtures-of-mixtures from the train split of the recipe's corpora."""

    def __init__(self, data: DataRecipe, sample_rate: int, batch_size: int) -> None:
        pool = without_classes(ClipPool.from_corpora(data.corpora, "train", data.categories, sample_rate),
                                data.exclude_classes)
        self.pool = pool
        self.data = data
        self.batch_size = batch_size
        self.samples = min(round(data.seconds * sample_rate), pool.samples)
        weights = data.category_weights
        self.weak = MixtureSampler(pool, data.sources_per_part, data.gain_db, weights)
        single_pool = labelled_subset(pool, data.labelled_fraction, data.subset_seed)
        self.single = MixtureSampler(single_pool, 1, data.gain_db, weights)
        self.augmentation = data.augmentation
        self.sample_rate = sample_rate
        self.words = QueryWords(pool, data.paraphrase_fraction)
        self.singles = batch_size if data.sources_per_part == 1 else _labelled_items(data.single_fraction, batch_size)

    def _item(self, rng: np.random.Generator, single: bool
              ) -> tuple[np.ndarray, list[str], bool, np.ndarray | None, str | None]:
        sampler = self.single if single else self.weak
        mom = sampler.mixture_of_mixtures(rng, self.data.parts)
        start = int(rng.integers(0, mom.audio.shape[-1] - self.samples + 1))
        parts = np.stack([self._augment(m.audio, rng)[start : start + self.samples] for m in mom.mixtures])
        refs = None
        if self.data.audio_query_fraction > 0 and single and rng.random() < self.data.audio_query_fraction:
            refs = parts.copy() if self.data.audio_query_source == "self" else self._references(mom, rng)
        captions = [self.words.part(m, rng) for m in mom.mixtures]
        return parts, captions, single, refs, self._absent(mom, rng)

    def _absent(self, mom: MixtureOfMixtures, rng: np.random.Generator) -> str | None:
        """For ``absent_fraction`` of the items, a query for a class in none of the parts (target: silence)."""
        if self.data.absent_fraction == 0 or rng.random() >= self.data.absent_fraction:
            return None
        return self.words.absent({label for m in mom.mixtures for c in m.clips for label in c.entry.labels}, rng)

    def _augment(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.augmentation.active:
            audio = augment_part(audio, self.augmentation, rng)
        if self.data.sim_to_real > 0 and rng.random() < self.data.sim_to_real:
            audio = simulate_chain(audio, self.sample_rate, rng)
        return audio

    def _references(self, mom: MixtureOfMixtures, rng: np.random.Generator) -> np.ndarray | None:
        """Per part, another clip of the part's class (``(parts, samples)``); None if a class has one clip only."""
        refs = []
        for mixture in mom.mixtures:
            clip = mixture.clips[0]
            others = [c for c in self.pool.by_label[clip.entry.label] if c.path != clip.path]
            if not others:
                return None
            audio = self.pool.load(others[int(rng.integers(len(others)))])
            start = int(rng.integers(0, audio.shape[-1] - self.samples + 1))
            refs.append(audio[start : start + self.samples])
        return np.stack(refs)

    def next(self, rng: np.random.Generator) -> MixtureBatch:
        """One batch. Shapes: parts and references (batch, parts, samples)."""
        items = [self._item(rng, i < self.singles) for i in range(self.batch_size)]
        parts = torch.from_numpy(np.stack([i[0] for i in items]).astype(np.float32))
        single = torch.tensor([[i[2]] * self.data.parts for i in items])
        refs = use = None
        if self.data.audio_query_fraction > 0:
            refs = torch.from_numpy(np.stack([i[3] if i[3] is not None else np.zeros_like(i[0]) for i in items])
                                    .astype(np.float32))
            use = torch.tensor([[i[3] is not None] * self.data.parts for i in items])
        noise, mixing = self.data.query_noise, self.data.query_blend
        seed = int(rng.integers(2**62)) if noise > 0 or mixing > 0 else 0
        absent = [i[4] for i in items] if self.data.absent_fraction > 0 else None
        return MixtureBatch(parts, [i[1] for i in items], single, refs, use, noise, seed, mixing, absent)
