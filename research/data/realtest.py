"""``python -m research data realtest``: seeded 2-source test mixtures of real recordings, per domain.

The sources are test-split clips of real-recording corpora (real speech, music beds, sound
effects, instruments), so they come from held-out voices, tracks and packages only.  Each
domain pairs two kinds of clip: speech over sound effects, speech over music, instrument
pairs and sound-effect pairs; a domain whose kinds the corpora lack is left out (and said).
Every mixture also names one ``absent`` class: a class of the test clips that shares no label
with either source, whose query should give silence.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.settings import MixtureSetSettings
from research.data.testset import _render_testset
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import compose_caption
from soundsift.training.data.manifest import Entry, Stem
from soundsift.training.data.mixtures import ClipPool, MixtureSampler, PoolClip
from soundsift.training.data.vocabulary import class_phrase

Kind = Callable[[Entry], bool]
KINDS: dict[str, Kind] = {
    "speech": lambda e: e.category == "speech",
    "sfx": lambda e: e.category == "sfx",
    "music bed": lambda e: e.category == "music" and "music" in e.labels,
    "instrument": lambda e: e.category == "music" and "music" not in e.labels,
}
DOMAINS: dict[str, tuple[str, str]] = {
    "speech over sfx": ("speech", "sfx"),
    "speech over music": ("speech", "music bed"),
    "instrument pairs": ("instrument", "instrument"),
    "sfx pairs": ("sfx", "sfx"),
}


@dataclass(frozen=True)
class RealTestSettings(MixtureSetSettings):
    """The real-recording test set's own settings: mixtures per domain."""

    mixtures_per_domain: int = 100


def build_realtest(out: Path, settings: RealTestSettings, workers: int = 1, progress: bool = True) -> BuildReport:
    """Write the mixtures of every domain the corpora can make, with their sources and a manifest."""
    pool = ClipPool.from_corpora(settings.corpora, "test")
    check_settings(out, {"recipe": "realtest", **asdict(settings)})
    by_kind = {kind: [c for c in pool.clips if test(c.entry)] for kind, test in KINDS.items()}
    tags = class_tags(pool.clips)
    jobs = []
    for domain, (first, second) in DOMAINS.items():
        if not by_kind[first] or not by_kind[second]:
            missing = sorted({k for k in (first, second) if not by_kind[k]})
            if progress:
                print(f"realtest: no {domain} mixtures (no test clips of kind {', '.join(missing)})", file=sys.stderr)
            continue
        samplers = [MixtureSampler(ClipPool(by_kind[k], pool.sample_rate, pool.samples), 1) for k in (first, second)]
        for index in range(settings.mixtures_per_domain):
            jobs.append(_job(domain, index, samplers, tags, pool, settings))
    if not jobs:
        raise SoundsiftError("the corpora hold no test clips for any real-recording domain")
    return run_jobs(out, jobs, _render_testset, workers, "realtest", progress)


def class_tags(clips: list[PoolClip]) -> dict[str, frozenset[str]]:
    """Class -> every label its clips carry (a query for it could rightly keep any of them)."""
    tags: dict[str, set[str]] = defaultdict(set)
    for c in clips:
        tags[c.entry.label] |= set(c.entry.labels)
    return {label: frozenset(t) for label, t in tags.items()}


def _job(domain: str, index: int, samplers: list[MixtureSampler], tags: dict[str, frozenset[str]],
         pool: ClipPool, settings: RealTestSettings) -> Job:
    rng = seed_rng(settings.seed, "realtest", domain, index)
    first = samplers[0].draw_clips(rng, 1)
    clips = first + samplers[1].draw_clips(rng, 1, set(first[0].entry.labels))
    gains = tuple(float(g) for g in rng.uniform(-settings.gain_db, settings.gain_db, size=len(clips)))
    present = {label for c in clips for label in c.entry.labels}
    absent = sorted(label for label, t in tags.items() if not t & present)
    words = [class_phrase(c.entry.label, c.entry.meta) for c in clips]
    folder = f"mixtures/{slug(domain)}/mix-{index:05d}"
    entry = Entry(
        path=f"{folder}/mix.wav", duration=pool.samples / pool.sample_rate, sample_rate=pool.sample_rate,
        labels=tuple(c.entry.label for c in clips), caption=compose_caption(words, rng), category="mixture",
        split="test", group="+".join(c.entry.group for c in clips),
        source="; ".join(sorted({c.entry.source for c in clips})),
        licence="; ".join(sorted({c.entry.licence for c in clips})), origin=tuple(str(c.path) for c in clips),
        stems=tuple(Stem(f"{folder}/{i}-{slug(c.entry.label)}.wav", c.entry.labels, c.entry.caption)
                    for i, c in enumerate(clips)),
        meta={"domain": domain, "gains_db": [round(g, 3) for g in gains],
              "queries": [f"the sound of {w.noun}" for w in words],
              "absent": [absent[int(rng.integers(len(absent)))]] if absent else []},
    )
    return Job((entry,), (entry, tuple(c.path for c in clips), gains, pool.samples, pool.sample_rate), bit_depth="24")


def domain_counts(entries: list[Entry]) -> dict[str, int]:
    """Mixtures per domain of a built real test set."""
    counts: dict[str, int] = defaultdict(int)
    for e in entries:
        counts[str(e.meta.get("domain"))] += 1
    return dict(counts)

