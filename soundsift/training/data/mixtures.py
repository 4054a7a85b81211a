"""Captioned mixtures built on the fly from single-source clips.

A :class:`MixtureSampler` draws N clips of distinct classes (no two share any label),
gives each a random gain around a common level (every clip was normalised to the same
RMS by its recipe), sums them, and composes a caption from the parts ("a dog barks while
rain falls").  :meth:`MixtureSampler.mixture_of_mixtures` gives the paper's training input
x = x1 + x2 of docs/method.md (fixed test sets: ``research.data.testset``).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsift.audio import downmix, read_audio, resample
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import compose_caption
from soundsift.training.data.levels import fit_length
from soundsift.training.data.manifest import Entry, corpus_root, read_manifest
from soundsift.training.data.vocabulary import class_phrase

PEAK = 0.99


@dataclass(frozen=True)
class PoolClip:
    """A single-source clip and the corpus folder it lives in."""

    entry: Entry
    root: Path

    @property
    def path(self) -> Path:
        """The clip's audio file."""
        return self.root / self.entry.path


class ClipPool:
    """Single-source clips of one split, indexed by class, with their audio loaded on demand."""

    def __init__(self, clips: Sequence[PoolClip], sample_rate: int = 16000, samples: int | None = None) -> None:
        if not clips:
            raise SoundsiftError("no clips to mix (check the corpus folders, split and categories)")
        self.clips = list(clips)
        self.sample_rate = sample_rate
        self.samples = samples or round(max(c.entry.duration for c in clips) * sample_rate)
        self.by_label: dict[str, list[PoolClip]] = defaultdict(list)
        for clip in self.clips:
            self.by_label[clip.entry.label].append(clip)
        self.labels = sorted(self.by_label)
        self._cache: dict[Path, np.ndarray] = {}

    @classmethod
    def from_corpora(
        cls, corpora: Sequence[str | Path], split: str, categories: Sequence[str] | None = None,
        sample_rate: int = 16000, samples: int | None = None,
    ) -> ClipPool:
        """The single-source clips (entries without stems) of ``split`` in the given corpora."""
        clips = []
        for corpus in corpora:
            root = corpus_root(corpus)
            for entry in read_manifest(corpus):
                if entry.split == split and not entry.stems and (categories is None or entry.category in categories):
                    clips.append(PoolClip(entry, root))
        return cls(clips, sample_rate, samples)

    def load(self, clip: PoolClip) -> np.ndarray:
        """The clip as mono float32 at the pool's rate, cropped or padded to ``samples``."""
        if clip.path not in self._cache:
            self._cache[clip.path] = load_clip(clip.path, self.sample_rate, self.samples)
        return self._cache[clip.path]


def load_clip(path: Path, sample_rate: int, samples: int) -> np.ndarray:
    """A file as mono float32 at ``sample_rate``, cropped or zero-padded to ``samples``."""
    audio, rate = read_audio(path)
    return fit_length(resample(downmix(audio)[None, :], rate, sample_rate)[0], samples)


def mix_sources(sources: Sequence[np.ndarray], gains_db: Sequence[float]) -> np.ndarray:
    """Apply the gains and scale all sources down together if their sum or any one of them would
    exceed :data:`PEAK` (a saved stem over full scale could not be written as fixed-point audio).
    Shape: n arrays of (samples,) -> (n, samples)."""
    out = np.stack([s * np.float32(10 ** (g / 20)) for s, g in zip(sources, gains_db)])
    peak = max(float(np.max(np.abs(out.sum(axis=0)))), float(np.max(np.abs(out))))
    if peak > PEAK:
        out *= np.float32(PEAK / peak)
    return out


@dataclass(frozen=True)
class Mixture:
    """A mixture, its sources as mixed (gains applied), and the caption naming them.

    Shapes: ``audio`` (samples,), ``sources`` (n_sources, samples); ``audio`` is exactly
    ``sources.sum(0)``.
    """

    audio: np.ndarray
    sources: np.ndarray
    clips: tuple[PoolClip, ...]
    gains_db: tuple[float, ...]
    caption: str

    @property
    def labels(self) -> tuple[str, ...]:
        """The class of each source."""
        return tuple(c.entry.label for c in self.clips)

    @property
    def clauses(self) -> tuple[str, ...]:
        """The single-source clause of each source, in order (the parser's expected split)."""
        return tuple(class_phrase(c.entry.label, c.entry.meta).clause for c in self.clips)


@dataclass(frozen=True)
class MixtureOfMixtures:
    """The paper's training input x = x1 + ... + xN. Shape of ``audio``: (samples,)."""

    audio: np.ndarray
    mixtures: tuple[Mixture, ...]


class MixtureSampler:
    """Draws captioned mixtures of ``n_sources`` clips of distinct classes from a pool.

    Classes are drawn uniformly (so rare classes are mixed as often as common ones), or in
    proportion to ``category_weights`` (category -> weight, 1 for unnamed ones), then a clip
    of that class; each source gets a gain uniform in +-``gain_db``; when the sum would
    clip, every source is scaled down together, so ``audio == sources.sum(0)`` holds.
    """

    def __init__(
        self, pool: ClipPool, n_sources: int = 2, gain_db: float = 5.0,
        category_weights: Mapping[str, float] | None = None,
    ) -> None:
        if n_sources < 1:
            raise SoundsiftError(f"n_sources must be at least 1, got {n_sources}")
        self.pool = pool
        self.n_sources = n_sources
        self.gain_db = gain_db
        self.label_p = _label_probabilities(pool, category_weights) if category_weights else None

    def _label_order(self, rng: np.random.Generator) -> np.ndarray:
        """All labels in random order, weighted ones earlier more often."""
        if self.label_p is None:
            return rng.permutation(self.pool.labels)
        return rng.choice(self.pool.labels, size=len(self.pool.labels), replace=False, p=self.label_p)

    def draw_clips(self, rng: np.random.Generator, count: int, exclude: set[str] | None = None) -> list[PoolClip]:
        """``count`` clips whose labels are pairwise disjoint and disjoint from ``exclude``."""
        taken = set(exclude or ())
        clips: list[PoolClip] = []
        for label in self._label_order(rng):
            options = [c for c in self.pool.by_label[str(label)] if not taken & set(c.entry.labels)]
            if options:
                clip = options[int(rng.integers(len(options)))]
                clips.append(clip)
                taken |= set(clip.entry.labels)
                if len(clips) == count:
                    return clips
        raise SoundsiftError(
            f"cannot draw {count} sources of distinct classes: the pool has only {len(self.pool.labels)} classes"
        )

    def sample(self, rng: np.random.Generator, exclude: set[str] | None = None) -> Mixture:
        """One captioned mixture."""
        clips = self.draw_clips(rng, self.n_sources, exclude)
        return self.mix(clips, rng)

    def mix(self, clips: Sequence[PoolClip], rng: np.random.Generator) -> Mixture:
        """Mix given clips with random gains and compose their caption."""
        gains = rng.uniform(-self.gain_db, self.gain_db, size=len(clips))
        sources = mix_sources([self.pool.load(c) for c in clips], gains)
        caption = compose_caption([class_phrase(c.entry.label, c.entry.meta) for c in clips], rng)
        return Mixture(sources.sum(axis=0), sources, tuple(clips), tuple(float(g) for g in gains), caption)

    def mixture_of_mixtures(self, rng: np.random.Generator, n_mixtures: int = 2) -> MixtureOfMixtures:
        """N captioned mixtures with no class in common, and their sum."""
        mixtures: list[Mixture] = []
        used: set[str] = set()
        for _ in range(n_mixtures):
            mixture = self.sample(rng, exclude=used)
            used |= {label for c in mixture.clips for label in c.entry.labels}
            mixtures.append(mixture)
        return MixtureOfMixtures(np.sum([m.audio for m in mixtures], axis=0), tuple(mixtures))


def _label_probabilities(pool: ClipPool, category_weights: Mapping[str, float]) -> np.ndarray:
    """Per-label draw probabilities from the weight of each label's category."""
    bad = {k: v for k, v in category_weights.items() if not (isinstance(v, (int, float)) and v > 0)}
    if bad:
        raise SoundsiftError(f"category weights must be positive numbers, got {bad}")
    weights = np.array([float(category_weights.get(pool.by_label[label][0].entry.category, 1.0))
                        for label in pool.labels])
    return weights / weights.sum()
