"""``python -m research data musicbeds``: music-bed clips from game soundtracks in Debian packages.

Tracks come from the reviewed table ``musicbeds_tracks.tsv`` (package, file patterns, class,
recording, licence, and what the class rests on); the first row matching a file decides it, so
the few tracks whose Vorbis GENRE tag or title names a genre get that genre class and every
other track is plain ``music``.  Class words are in ``musicbeds_genres.tsv``.

Each track gives up to ``clips_per_track`` clips, one per equal stretch of the track at a
seeded place inside it.  Splits go by recording (a track, or the variants of one composition);
the packages held out for music in ``real_heldout.tsv`` go to test whole.
"""
from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile

from research.data import debian
from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.realspeech_table import HERE, PackageFile, matching_files, read_bytes, read_rows
from research.data.settings import ClipCorpusSettings
from research.data.splits import assign_splits
from soundsift.audio import downmix, resample
from soundsift.errors import AudioError, SoundsiftError
from soundsift.training.data.compose import single_caption
from soundsift.training.data.levels import is_silent, normalise
from soundsift.training.data.manifest import Entry
from soundsift.training.data.vocabulary import Phrase

TRACKS_TABLE = HERE / "musicbeds_tracks.tsv"
GENRES_TABLE = HERE / "musicbeds_genres.tsv"


class TrackRow(NamedTuple):
    """One row of the track table (``recording`` is "file" when each file is its own recording)."""

    package: str
    files: str
    label: str
    recording: str
    licence: str
    basis: str


class Genre(NamedTuple):
    """One music class and how it is said."""

    label: str
    noun: str
    clause: str


@dataclass(frozen=True)
class Track:
    """A soundtrack file with its class, recording, licence and length."""

    file: PackageFile
    label: str
    recording: str
    licence: str
    seconds: float


@dataclass(frozen=True)
class MusicBedSettings(ClipCorpusSettings):
    """The music-bed corpus's own settings: clips per track, the packages read and those held out."""

    clips_per_track: int = 12
    packages: tuple[str, ...] = ()  # empty: every package of the table
    heldout: tuple[str, ...] = ()
    test: float = 0.1


@dataclass(frozen=True)
class TrackSpec:
    """What rendering one track's clips needs: where the file is and the windows (seconds) to cut."""

    file: PackageFile
    tree: str
    sample_rate: int
    seconds: float
    windows: tuple[tuple[str, float], ...]  # (clip path, start)


def tracks_table(path: Path = TRACKS_TABLE) -> tuple[TrackRow, ...]:
    """The track table."""
    return read_rows(path, TrackRow)


def genres(path: Path = GENRES_TABLE) -> dict[str, Phrase]:
    """The music classes and their words."""
    return {g.label: Phrase(g.noun, g.clause) for g in read_rows(path, Genre)}


def build_musicbeds(
    out: Path, settings: MusicBedSettings, workers: int = 1, progress: bool = True,
    trees: Mapping[str, Path] | None = None, table: Sequence[TrackRow] | None = None,
) -> BuildReport:
    """Fetch the packages (unless ``trees`` gives them), list the tracks, plan the clips and render them."""
    rows = [r for r in (table if table is not None else tracks_table())
            if not settings.packages or r.package in settings.packages]
    for r in rows:
        debian.check_allowed(r.package)
    if not rows:
        raise SoundsiftError(f"no track table row names the packages {list(settings.packages)}")
    if trees is None:
        trees = debian.fetch_all(sorted({r.package for r in rows}), progress=progress)
    table_hash = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]
    check_settings(out, {"recipe": "musicbeds", **asdict(settings), "table": table_hash})
    tracks = list_tracks(rows, trees)
    return run_jobs(out, plan(tracks, settings, trees), render, workers, "musicbeds", progress)


def list_tracks(rows: Sequence[TrackRow], trees: Mapping[str, Path]) -> list[Track]:
    """Every file the rows name, classed by the first row matching it; byte-identical files kept once."""
    words = genres()
    seen_files: set[PackageFile] = set()
    seen_bytes: set[str] = set()
    tracks = []
    for row in rows:
        if row.label not in words:
            raise SoundsiftError(f"{TRACKS_TABLE.name}: class '{row.label}' is not in {GENRES_TABLE.name}")
        tree = Path(trees[row.package])
        for f in matching_files(row.package, tree, row.files):
            if f in seen_files:
                continue
            seen_files.add(f)
            data = read_bytes(f, tree)
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen_bytes:
                continue
            seen_bytes.add(digest)
            try:
                seconds = soundfile.info(io.BytesIO(data)).duration
            except (RuntimeError, soundfile.LibsndfileError) as exc:
                raise AudioError(f.name, f"cannot decode ({exc})") from None
            recording = f.name if row.recording == "file" else row.recording
            tracks.append(Track(f, row.label, recording, row.licence, seconds))
    return tracks


def track_splits(tracks: Sequence[Track], settings: MusicBedSettings) -> dict[str, str]:
    """Recording -> split: held-out packages to test, the others per class weighted by length."""
    split = {t.recording: "test" for t in tracks if t.file.package in settings.heldout}
    by_label: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for t in tracks:
        if t.recording not in split:
            by_label[t.label][t.recording] += t.seconds
    for label in sorted(by_label):
        weights = by_label[label]
        split.update(assign_splits(sorted(weights), settings.seed, settings.val, settings.test, weights))
    return split


def plan(tracks: Sequence[Track], settings: MusicBedSettings, trees: Mapping[str, Path]) -> list[Job]:
    """One job per track: its clips at seeded places in equal stretches of the track."""
    words = genres()
    split_of = track_splits(tracks, settings)
    jobs = []
    for track in tracks:
        count = min(settings.clips_per_track, int(track.seconds // settings.seconds))
        if count == 0:
            continue
        rng = seed_rng(settings.seed, "musicbeds", track.file.name)
        stretch = track.seconds / count
        split = split_of[track.recording]
        stem = slug(f"{track.file.package} {Path(track.file.member).stem}")
        entries, windows = [], []
        for k in range(count):
            start = round(k * stretch + rng.uniform(0, stretch - settings.seconds), 3)
            name = f"clips/{split}/{slug(track.label)}/{stem}-{k:03d}.wav"
            labels = (track.label,) if track.label == "music" else (track.label, "music")
            entries.append(Entry(
                path=name, duration=settings.seconds, sample_rate=settings.sample_rate, labels=labels,
                caption=single_caption(words[track.label], rng), category="music", split=split,
                group=track.recording, source=track.file.package, licence=track.licence,
                origin=(f"{track.file.name}@{start:.2f}-{start + settings.seconds:.2f}",),
                meta={"noun": words[track.label].noun, "clause": words[track.label].clause},
            ))
            windows.append((name, start))
        spec = TrackSpec(track.file, str(trees[track.file.package]), settings.sample_rate, settings.seconds,
                         tuple(windows))
        jobs.append(Job(tuple(entries), spec))
    return jobs


def render(spec: TrackSpec) -> dict[str, np.ndarray]:
    """Decode the track once, cut each window at 16 kHz mono; silent windows are left out."""
    data = read_bytes(spec.file, Path(spec.tree))
    audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = downmix(audio.T)[None, :]
    clip = round(spec.seconds * spec.sample_rate)
    out = {}
    for name, start in spec.windows:
        first = int(start * rate)
        part = resample(mono[:, first:first + int(spec.seconds * rate) + 1], rate, spec.sample_rate)[0]
        part = np.pad(part[:clip], (0, max(0, clip - len(part))))
        if not is_silent(part, spec.sample_rate):
            out[name] = normalise(part)
    return out
