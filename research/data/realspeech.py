"""``python -m research data realspeech``: clips of real human voices from Debian game and education packages.

Every voice comes from the reviewed table ``realspeech_voices.tsv`` (package, files, gender,
language, licence).  The packages are fetched with :mod:`debian` and each recorded line is
decoded once to 16 kHz mono into ``cache/sources``.  A clip holds lines of one voice only:
short lines are placed one after another with short pauses, a line longer than a clip is cut
into consecutive clip-long windows.  Labels are the gender class, ``speech`` and the language.

Splits go by voice, so no voice is heard in two splits.  The voices of the packages held out
for speech in ``real_heldout.tsv`` all go to test; the others are split per gender class,
weighted by their hours.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from research.data import debian
from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.realspeech_table import Voice, matching_files, voices
from research.data.settings import ClipCorpusSettings
from research.data.sfx import ARCHIVE_MARK, ClipSpec, Piece, Recording, decode_all, render
from research.data.sfx_table import SourceFile
from research.data.splits import assign_splits
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import single_caption
from soundsift.training.data.manifest import Entry
from soundsift.training.data.vocabulary import phrase

MIN_WINDOW = 1.0  # seconds: the tail of a long line shorter than this is not made into a clip
LANGUAGE_CAPTIONS = 0.5  # share of non-English clips whose caption names the language


@dataclass(frozen=True)
class RealSpeechSettings(ClipCorpusSettings):
    """The real-speech corpus's own settings: the voices read and those held out."""

    voices: tuple[str, ...] = ()  # empty: every voice of the table
    heldout: tuple[str, ...] = ()
    test: float = 0.1


def build_realspeech(
    out: Path, settings: RealSpeechSettings, workers: int = 1, progress: bool = True,
    trees: Mapping[str, Path] | None = None, table: Sequence[Voice] | None = None,
) -> BuildReport:
    """Fetch the packages (unless ``trees`` gives them), decode the lines, plan the clips and render them."""
    chosen = select_voices(table if table is not None else voices(), settings.voices)
    if trees is None:
        trees = debian.fetch_all(sorted({v.package for v in chosen}), progress=progress)
    table_hash = hashlib.sha256(repr(sorted(chosen)).encode()).hexdigest()[:16]
    check_settings(out, {"recipe": "realspeech", **asdict(settings), "table": table_hash})
    lines = decode_voices(chosen, trees, out / "cache" / "sources", settings.sample_rate, workers)
    return run_jobs(out, plan(lines, chosen, settings, out), render, workers, "realspeech", progress)


def select_voices(table: Sequence[Voice], names: Sequence[str]) -> list[Voice]:
    """The table rows named (all when ``names`` is empty); an unknown name is an error."""
    for row in table:
        debian.check_allowed(row.package)
    unknown = sorted(set(names) - {v.voice for v in table})
    if unknown:
        raise SoundsiftError(f"unknown voice(s) {unknown}; the voices are listed in realspeech_voices.tsv")
    return [v for v in table if not names or v.voice in names]


def decode_voices(
    chosen: Sequence[Voice], trees: Mapping[str, Path], cache_dir: Path, sample_rate: int, workers: int,
) -> list[Recording]:
    """Every line of the chosen voices decoded into the cache (``row.label`` is the voice)."""
    rows, roots = [], {}
    for voice in chosen:
        files = matching_files(voice.package, Path(trees[voice.package]), voice.files)
        if not files:
            raise SoundsiftError(f"voice {voice.voice}: no file of {voice.package} matches {voice.files}")
        roots[voice.package] = str(trees[voice.package])
        rows += [SourceFile(voice.package, f"{f.archive}{ARCHIVE_MARK}{f.member}" if f.archive else f.member,
                            voice.voice, voice.gender, f.name, voice.licence) for f in files]
    return decode_all(rows, roots, cache_dir, sample_rate, workers)


def voice_splits(lines: Sequence[Recording], chosen: Sequence[Voice], settings: RealSpeechSettings) -> dict[str, str]:
    """Voice -> split: held-out packages' voices to test, the others split per gender by hours."""
    hours: dict[str, float] = defaultdict(float)
    for line in lines:
        hours[line.row.label] += line.seconds
    split = {v.voice: "test" for v in chosen if v.package in settings.heldout}
    for gender in sorted({v.gender for v in chosen}):
        names = [v.voice for v in chosen if v.gender == gender and v.voice not in split and hours[v.voice] > 0]
        if names:
            split.update(assign_splits(names, settings.seed, settings.val, settings.test, hours))
    return split


def plan(lines: Sequence[Recording], chosen: Sequence[Voice], settings: RealSpeechSettings, out: Path) -> list[Job]:
    """The clips of every voice, each a job of one entry."""
    by_voice: dict[str, list[Recording]] = defaultdict(list)
    for line in lines:
        by_voice[line.row.label].append(line)
    split_of = voice_splits(lines, chosen, settings)
    cache_dir = out / "cache" / "sources"
    jobs = []
    for voice in chosen:
        if not by_voice[voice.voice]:
            continue
        rng = seed_rng(settings.seed, "realspeech", voice.voice)
        for index, layout in enumerate(pack(by_voice[voice.voice], settings, rng)):
            jobs.append(_job(voice, split_of[voice.voice], index, layout, settings, cache_dir, rng))
    return jobs


Layout = list[tuple[Recording, int, int, int]]  # (line, start, length, offset) in samples


def pack(lines: Sequence[Recording], settings: RealSpeechSettings, rng: np.random.Generator) -> list[Layout]:
    """Clip layouts using every line once, in a seeded order: short lines in sequence, long ones in windows."""
    rate = settings.sample_rate
    clip = round(settings.seconds * rate)
    order = [lines[i] for i in rng.permutation(len(lines))]
    layouts: list[Layout] = []
    current: Layout = []
    cursor = int(rng.uniform(0, 0.3) * rate)
    for line in order:
        length = int(line.seconds * rate)
        if length > clip:
            for start in range(0, length - int(MIN_WINDOW * rate) + 1, clip):
                layouts.append([(line, start, min(clip, length - start), 0)])
            continue
        if current and cursor + length > clip:
            layouts.append(current)
            current, cursor = [], int(rng.uniform(0, 0.3) * rate)
        cursor = min(cursor, clip - length)  # a lead-in never pushes a line past the clip's end
        current.append((line, 0, length, cursor))
        cursor += length + int(rng.uniform(0.15, 0.6) * rate)
    if current:
        layouts.append(current)
    return layouts


def _job(voice: Voice, split: str, index: int, layout: Layout, settings: RealSpeechSettings,
         cache_dir: Path, rng: np.random.Generator) -> Job:
    rate = settings.sample_rate
    noun = phrase(voice.gender).noun
    if voice.language != "English" and rng.random() < LANGUAGE_CAPTIONS:
        caption = f"{noun} {voice.language}"
    else:
        caption = single_caption(phrase(voice.gender), rng)
    name = f"clips/{split}/{slug(voice.gender)}/{slug(voice.voice)}-{index:05d}.wav"
    entry = Entry(
        path=name, duration=settings.seconds, sample_rate=rate,
        labels=(voice.gender, "speech", voice.language.lower()), caption=caption, category="speech", split=split,
        group=voice.voice, source=voice.package, licence=voice.licence,
        origin=tuple(f"{line.row.recording}@{start / rate:.2f}-{(start + length) / rate:.2f}"
                     for line, start, length, _ in layout),
        meta={"voice": voice.voice, "language": voice.language, "gender_basis": voice.basis},
    )
    pieces = tuple(Piece(str(cache_dir / line.cache), start, length, offset, 0.0) for line, start, length, offset in layout)
    spec = ClipSpec(name, round(settings.seconds * rate), rate, (pieces,), (max(line.level_db for line, *_ in layout),))
    return Job((entry,), spec)
