"""The texts training queries use: a part's caption or a held-in wording, and classes absent from a mixture.

``paraphrase_fraction`` of the single-source parts (and of the absent queries) are worded by
one of the class's held-in wordings (:func:`~soundsift.training.data.vocabulary.wordings`,
"you can hear a violin") instead of a caption form, so the separator learns that the
wording does not change the sound asked for; the held-out paraphrases are never used.

An absent class is one that shares no label with any source of the mixture: with a man
speaking (labels "man speaking", "speech"), neither "woman speaking" nor any other class
tagged "speech" is drawn, since a query for it could rightly keep the voice.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from soundsift.training.data.compose import single_caption
from soundsift.training.data.mixtures import ClipPool, Mixture
from soundsift.training.data.vocabulary import Phrase, class_phrase, wordings


class QueryWords:
    """Draws query texts for the classes of a clip pool, from the caller's seeded generator."""

    def __init__(self, pool: ClipPool, paraphrase_fraction: float = 0.0) -> None:
        self.paraphrase_fraction = paraphrase_fraction
        self.tags: dict[str, set[str]] = defaultdict(set)
        self.words: dict[str, Phrase] = {}
        for clip in pool.clips:
            self.tags[clip.entry.label] |= set(clip.entry.labels)
            self.words.setdefault(clip.entry.label, class_phrase(clip.entry.label, clip.entry.meta))
        self.labels = sorted(self.tags)

    def _reworded(self, rng: np.random.Generator) -> bool:
        return self.paraphrase_fraction > 0 and rng.random() < self.paraphrase_fraction

    def part(self, mixture: Mixture, rng: np.random.Generator) -> str:
        """A part's query: its caption, or for a single source sometimes a held-in wording of its class."""
        if len(mixture.clips) == 1 and self._reworded(rng):
            options = wordings(mixture.labels[0], self.words[mixture.labels[0]])
            return options[int(rng.integers(len(options)))]
        return mixture.caption

    def absent(self, present: set[str], rng: np.random.Generator) -> str | None:
        """A query for a class sharing no label with ``present``, worded like a part's; None if there is none."""
        candidates = [label for label in self.labels if not self.tags[label] & present]
        if not candidates:
            return None
        label = candidates[int(rng.integers(len(candidates)))]
        if self._reworded(rng):
            options = wordings(label, self.words[label])
            return options[int(rng.integers(len(options)))]
        return single_caption(self.words[label], rng)
