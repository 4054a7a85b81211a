"""Training batches and held-out test mixtures drawn from a captioned library.

Every library file is treated as a captioned mixture x_n (it may hold several sources; only
its caption is known).  A training item is the paper's mixture of mixtures: excerpts of two
files whose captions name different sounds, levelled to a common loudness with random gains, summed by
the trainer (docs/method.md).  Held-out files never enter training; pairs of them make the
test mixtures on which the fine-tuned model is scored against its base.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from soundsift.errors import SoundsiftError
from soundsift.training.captions import split_caption
from soundsift.training.data.levels import SILENCE_DB, normalise, rms_db
from soundsift.training.data.mixtures import mix_sources
from soundsift.training.evaluate import TestMixture
from soundsift.training.finetune.captions import CaptionTable
from soundsift.training.finetune.excerpts import ExcerptReader
from soundsift.training.finetune.library import Library
from soundsift.training.regimes import MixtureBatch

TRIES = 4  # excerpts tried before accepting a quiet one


@dataclass(frozen=True)
class Clip:
    """A captioned library file."""

    relative: str
    path: Path
    caption: str
    duration: float


def captioned_clips(library: Library, table: CaptionTable) -> list[Clip]:
    """The library's files that have a caption, in table order."""
    by_name = {f.relative: f for f in library.files}
    missing = [r.relative for r in table.rows if r.relative not in by_name]
    if missing:
        raise SoundsiftError(f"{library.root}: captioned files are gone or no longer decode: {missing[:3]}")
    return [Clip(r.relative, by_name[r.relative].path, r.caption, by_name[r.relative].duration) for r in table.rows]


def split_holdout(clips: Sequence[Clip], fraction: float, seed: int) -> tuple[list[Clip], list[Clip]]:
    """Seeded (train, held-out) split: ``fraction`` of the files of each caption that has two or more.

    Every caption keeps at least one training file; captions with a single file stay in training.
    """
    if not 0.0 <= fraction < 1.0:
        raise SoundsiftError(f"the held-out fraction must be in [0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        groups[clip.caption].append(clip)
    held: set[str] = set()
    for caption in sorted(groups):
        members = groups[caption]
        if fraction > 0 and len(members) >= 2:
            count = min(len(members) - 1, max(1, round(fraction * len(members))))
            held |= {members[i].relative for i in rng.choice(len(members), size=count, replace=False)}
    train = [c for c in clips if c.relative not in held]
    test = [c for c in clips if c.relative in held]
    if not can_mix(train):
        raise SoundsiftError("fine-tuning needs files with at least two different captions that name different "
                             f"sounds (found {len({c.caption for c in clips})} distinct); add files or pick another "
                             "caption source")
    return train, test


def split_as_saved(clips: Sequence[Clip], heldout: Sequence[str]) -> tuple[list[Clip], list[Clip]]:
    """The (train, held-out) split a run was started with: files named in ``heldout`` never move into training."""
    held = set(heldout)
    train = [c for c in clips if c.relative not in held]
    if not can_mix(train):
        raise SoundsiftError("the run's training files no longer hold two captions that name different sounds "
                             "(files were removed from the library)")
    return train, [c for c in clips if c.relative in held]


def can_mix(clips: Sequence[Clip]) -> bool:
    """True when two of the files have captions that share no clause (so a test or training mixture can be made)."""
    clauses = [frozenset(split_caption(c)) for c in {c.caption for c in clips}]
    return any(not a & b for i, a in enumerate(clauses) for b in clauses[i + 1:])


class LibrarySampler:
    """Draws excerpts of captioned files, levelled, as training batches or fixed test mixtures."""

    def __init__(self, clips: Sequence[Clip], sample_rate: int, seconds: float, gain_db: float = 5.0) -> None:
        self.clips = list(clips)
        clauses = {c.caption: frozenset(split_caption(c.caption)) for c in self.clips}
        # partners: files whose captions share no clause ("birds and a xylophone" never meets "birds chirping")
        self.partners = {i: [j for j, other in enumerate(self.clips) if not clauses[c.caption] & clauses[other.caption]]
                         for i, c in enumerate(self.clips)}
        self.firsts = [i for i, p in self.partners.items() if p]
        if not self.firsts:
            raise SoundsiftError("need files whose captions name different sounds to mix (every pair of captions "
                                 "shares a sound)")
        self.sample_rate = sample_rate
        self.seconds = seconds
        self.gain_db = gain_db
        self.reader = ExcerptReader(sample_rate)

    @property
    def samples(self) -> int:
        return round(self.seconds * self.sample_rate)

    def excerpt(self, clip: Clip, rng: np.random.Generator, centred: bool = False) -> np.ndarray:
        """A levelled excerpt (a random one, or the middle one first when ``centred``); quiet excerpts are redrawn."""
        span = max(0.0, clip.duration - self.seconds)
        audio = np.zeros(self.samples, dtype=np.float32)
        for attempt in range(TRIES):
            start = span / 2 if centred and attempt == 0 else float(rng.uniform(0.0, span)) if span else 0.0
            audio = self.reader.read(clip.path, start, self.seconds, clip.duration)
            if rms_db(audio) > SILENCE_DB:
                break
        return normalise(audio)

    def pair(self, rng: np.random.Generator, centred: bool = False) -> tuple[tuple[Clip, Clip], np.ndarray]:
        """Two files whose captions share no clause, and their levelled, gained excerpts. Shape: (2, samples)."""
        index = self.firsts[int(rng.integers(len(self.firsts)))]
        first = self.clips[index]
        second = self.clips[self.partners[index][int(rng.integers(len(self.partners[index])))]]
        gains = rng.uniform(-self.gain_db, self.gain_db, size=2)
        parts = mix_sources([self.excerpt(first, rng, centred), self.excerpt(second, rng, centred)], gains)
        return (first, second), parts

    def batch(self, rng: np.random.Generator, size: int) -> MixtureBatch:
        """``size`` mixture-of-mixtures items. Shapes: parts (size, 2, samples)."""
        pairs = [self.pair(rng) for _ in range(size)]
        parts = torch.from_numpy(np.stack([p for _, p in pairs]).astype(np.float32))
        captions = [[a.caption, b.caption] for (a, b), _ in pairs]
        return MixtureBatch(parts, captions, torch.zeros(size, 2, dtype=torch.bool))

    def test_mixtures(self, count: int, seed: int) -> list[TestMixture]:
        """A fixed, seeded set of 2-file mixtures (each file's caption is its query)."""
        rng = np.random.default_rng(seed)
        mixtures = []
        for index in range(count):
            (a, b), parts = self.pair(rng, centred=True)
            mixtures.append(TestMixture(
                name=f"{index:03d}: {a.relative} + {b.relative}", mixture=parts.sum(axis=0), stems=parts,
                labels=(a.caption, b.caption), captions=(a.caption, b.caption), sample_rate=self.sample_rate,
            ))
        return mixtures
