"""Fixed, seeded N-source test mixtures with their ground-truth sources, written as a corpus."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.settings import MixtureSetSettings
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import compose_caption
from soundsift.training.data.manifest import Entry, Stem
from soundsift.training.data.mixtures import ClipPool, MixtureSampler, load_clip, mix_sources
from soundsift.training.data.vocabulary import class_phrase


@dataclass(frozen=True)
class TestsetSettings(MixtureSetSettings):
    """The test set's own settings: the split drawn from, mixture and source counts, categories and focus."""

    split: str = "test"
    mixtures: int = 300
    n_sources: int = 2
    categories: tuple[str, ...] | None = None
    focus: str | None = None


def build_testset(out: Path, settings: TestsetSettings, workers: int = 1, progress: bool = True) -> BuildReport:
    """Write ``settings.mixtures`` seeded mixtures with their sources and a manifest to ``out``."""
    pool = ClipPool.from_corpora(settings.corpora, settings.split, settings.categories)
    check_settings(out, {"recipe": "testset", **asdict(settings)})
    sampler = MixtureSampler(pool, settings.n_sources, settings.gain_db)
    focus = _focus_sampler(pool, settings.focus)
    jobs = []
    for index in range(settings.mixtures):
        rng = seed_rng(settings.seed, "testset", index)
        if focus is None:
            clips = sampler.draw_clips(rng, settings.n_sources)
        else:
            first = focus.draw_clips(rng, 1)
            clips = first + sampler.draw_clips(rng, settings.n_sources - 1, set(first[0].entry.labels))
        gains = tuple(float(g) for g in rng.uniform(-settings.gain_db, settings.gain_db, size=len(clips)))
        folder = f"mixtures/mix-{index:05d}"
        labels = tuple(c.entry.label for c in clips)
        words = [class_phrase(c.entry.label, c.entry.meta) for c in clips]
        stems = tuple(Stem(f"{folder}/{i}-{slug(c.entry.label)}.wav", c.entry.labels, c.entry.caption)
                      for i, c in enumerate(clips))
        entry = Entry(
            path=f"{folder}/mix.wav", duration=pool.samples / pool.sample_rate, sample_rate=pool.sample_rate,
            labels=labels, caption=compose_caption(words, rng), category="mixture",
            split=settings.split, group="+".join(c.entry.group for c in clips),
            source="; ".join(sorted({c.entry.source for c in clips})),
            licence="; ".join(sorted({c.entry.licence for c in clips})),
            origin=tuple(str(c.path) for c in clips), stems=stems,
            meta={"gains_db": [round(g, 3) for g in gains], "queries": [f"the sound of {w.noun}" for w in words]},
        )
        jobs.append(Job((entry,), (entry, tuple(c.path for c in clips), gains, pool.samples, pool.sample_rate),
                        bit_depth="24"))
    return run_jobs(out, jobs, _render_testset, workers, "testset", progress)


def _focus_sampler(pool: ClipPool, category: str | None) -> MixtureSampler | None:
    """A sampler over the clips of ``category`` (every test mixture's first source), or None."""
    if category is None:
        return None
    clips = [c for c in pool.clips if c.entry.category == category]
    if not clips:
        raise SoundsiftError(f"no '{category}' clips in the test set's corpora")
    return MixtureSampler(ClipPool(clips, pool.sample_rate, pool.samples), 1)


def _render_testset(spec: tuple[Entry, tuple[Path, ...], tuple[float, ...], int, int]) -> dict[str, np.ndarray]:
    entry, paths, gains, samples, rate = spec
    sources = mix_sources([load_clip(p, rate, samples) for p in paths], gains)
    out = {stem.path: s for stem, s in zip(entry.stems, sources)}
    out[entry.path] = sources.sum(axis=0)
    return out
