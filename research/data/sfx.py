"""``python -m research data sfx``: clips of real environmental recordings from Debian game data.

Packages are fetched with :mod:`research.data.debian` (``apt-get download`` + ``dpkg -x`` into a
cache, nothing installed) and their files read through the reviewed table in :mod:`sfx_table`
(members of zip archives too).  Each recording is decoded once to 16 kHz
mono into ``cache/sources``; clips are then random crops of long ambiences, or one to three
short events of the class placed in silence.  Crops that turn out silent are replaced by the
next of a few seeded candidates, and every class gets the same number of clips (in val,
only when the class has a recording to spare for it).

Splits keep recordings apart, and every recording of a held-out package (``real_heldout.tsv``,
domain ``sfx``) goes to test.  Among the others, a class with fewer than three recordings is split more
finely instead, by take (each file) and, for long files, by time: aligned segments of
:data:`SEGMENT_CLIPS` clip lengths, so no crop straddles two splits.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile

from research.data.build import BuildReport, Job, check_settings, process_pool, run_jobs, seed_rng, slug
from research.data.debian import fetch
from research.data.music import split_counts
from research.data.realspeech_table import heldout
from research.data.settings import ClipCorpusSettings
from research.data.sfx_table import (
    PACKAGES,
    ROWS,
    Package,
    SourceFile,
    class_labels,
    class_meta,
    class_parents,
    class_words,
)
from research.data.splits import assign_splits
from soundsift.audio import downmix, resample
from soundsift.errors import AudioError, SoundsiftError
from soundsift.training.data.levels import is_silent, normalise, rms_db
from soundsift.training.data.manifest import Entry

ARCHIVE_MARK = "!"  # "archive.zip!member" in a table path: a file inside a zip archive
SEGMENT_CLIPS = 3
CANDIDATES = 4
QUIET_DB = 30.0  # a crop this far below its recording's level counts as silent


@dataclass(frozen=True)
class SfxSettings(ClipCorpusSettings):
    """The sound-effect corpus's own settings: clips per class, the packages read and those held out."""

    clips_per_class: int = 160
    packages: tuple[str, ...] = tuple(PACKAGES)
    held_out: tuple[str, ...] = tuple(sorted(heldout("sfx")))


@dataclass(frozen=True)
class Recording:
    """A decoded table row: its cache file, length and level."""

    row: SourceFile
    cache: str
    seconds: float
    level_db: float


@dataclass(frozen=True)
class Piece:
    """A stretch of a cached recording placed into a clip (times in samples)."""

    cache: str
    start: int
    length: int
    offset: int
    gain_db: float


@dataclass(frozen=True)
class ClipSpec:
    """Candidate layouts for one clip, tried in order until one is not silent."""

    path: str
    samples: int
    sample_rate: int
    candidates: tuple[tuple[Piece, ...], ...]
    levels: tuple[float, ...]


def build_sfx(
    out: Path, settings: SfxSettings, workers: int = 1, progress: bool = True,
    roots: Mapping[str, str] | None = None, rows: Sequence[SourceFile] = ROWS,
    packages: Mapping[str, Package] = PACKAGES, cache: str | Path | None = None,
) -> BuildReport:
    """Fetch the packages, decode the listed recordings, plan balanced clips and render them into ``out``.

    ``roots`` names a package's data folder directly (then nothing is fetched for it);
    ``rows`` and ``packages`` replace the reviewed tables (tests use small ones); ``cache``
    is the Debian cache folder (:func:`research.data.debian.cache_root`).
    """
    unknown = sorted(set(settings.packages) - set(packages))
    if unknown:
        raise SoundsiftError(f"unknown package(s) {unknown}; known: {sorted(packages)}")
    roots = {p: str(Path(roots[p]) if roots and p in roots else fetch(p, cache, progress) / packages[p].root)
             for p in settings.packages}
    for package, root in roots.items():
        _check_root(package, Path(root))
    rows = [r for r in rows if r.package in settings.packages]
    table_hash = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]
    check_settings(out, {"recipe": "sfx", **asdict(settings), "table": table_hash})
    recordings = decode_all(rows, roots, out / "cache" / "sources", settings.sample_rate, workers)
    return run_jobs(out, plan(recordings, settings, out), render, workers, "sfx", progress)


def _check_root(package: str, root: Path) -> None:
    if not root.is_dir():
        raise SoundsiftError(f"{package}: its data folder {root} is missing; leave the package out with --packages")


def read_member(row: SourceFile, roots: Mapping[str, str]) -> bytes:
    """The bytes of one table file: a plain file under the package's data folder, or ``archive!member``."""
    root = Path(roots[row.package])
    file, _, member = row.path.partition(ARCHIVE_MARK)
    try:
        if member:
            with zipfile.ZipFile(root / file) as archive:
                return archive.read(member)
        return (root / file).read_bytes()
    except (KeyError, FileNotFoundError):
        raise SoundsiftError(f"{row.package}:{row.path}: listed in the sfx table but not in the package ({root})") from None
    except zipfile.BadZipFile:
        raise SoundsiftError(f"{row.package}:{file}: not a readable zip archive") from None


def _decode(task: tuple[SourceFile, dict[str, str], Path, int]) -> tuple[str, float, float]:
    """Decode one file to mono at ``sample_rate`` into the cache (named by content hash)."""
    row, roots, cache_dir, sample_rate = task
    data = read_member(row, roots)
    cache = cache_dir / f"{hashlib.sha256(data).hexdigest()[:20]}.npy"
    if cache.is_file():
        audio = np.load(cache)
    else:
        try:
            decoded, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise AudioError(f"{row.package}:{row.path}", f"cannot decode ({exc})") from None
        audio = resample(downmix(decoded.T)[None, :], rate, sample_rate)[0]
        tmp = cache.with_suffix(".part.npy")
        np.save(tmp, audio)
        tmp.replace(cache)
    active = audio[np.abs(audio) > 1e-4]
    return cache.name, len(audio) / sample_rate, rms_db(active) if active.size else float("-inf")


def decode_all(
    rows: Sequence[SourceFile], roots: Mapping[str, str], cache_dir: Path, sample_rate: int, workers: int,
) -> list[Recording]:
    """Decode (or find in the cache) every row; byte-identical files are kept once."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(row, dict(roots), cache_dir, sample_rate) for row in rows]
    if workers > 1:
        with process_pool(workers) as pool:
            results = list(pool.map(_decode, tasks, chunksize=4))
    else:
        results = [_decode(t) for t in tasks]
    seen: set[str] = set()
    recordings = []
    for row, (cache, seconds, level) in zip(rows, results):
        if cache not in seen and np.isfinite(level):
            seen.add(cache)
            recordings.append(Recording(row, cache, seconds, level))
    return recordings


def split_units(recordings: Sequence[Recording], seconds: float) -> list[tuple[str, Recording, float, float]]:
    """The units a class is split by: (unit name, recording, start s, end s).

    Recordings when the class has three or more; otherwise files, and for files longer than
    :data:`SEGMENT_CLIPS` clips, time segments aligned across the files of a recording.
    """
    if len({r.row.recording for r in recordings}) >= 3:
        return [(r.row.recording, r, 0.0, r.seconds) for r in recordings]
    units = []
    span = SEGMENT_CLIPS * seconds
    for r in recordings:
        if r.seconds < 2 * span:
            units.append((f"{r.row.recording}|{r.row.path}", r, 0.0, r.seconds))
            continue
        for k in range(int(r.seconds // span)):
            end = r.seconds if k == int(r.seconds // span) - 1 else (k + 1) * span
            units.append((f"{r.row.recording}|t{k}", r, k * span, end))
    return units


def plan(recordings: Sequence[Recording], settings: SfxSettings, out: Path) -> list[Job]:
    """Balanced clips per class and split, each with seeded candidate layouts."""
    by_label: dict[str, list[Recording]] = defaultdict(list)
    for r in recordings:
        by_label[r.row.label].append(r)
    cache_dir = out / "cache" / "sources"
    words, parents = class_words(), class_parents()
    jobs = []
    for label in sorted(by_label):
        split_of, units = _split_label(by_label[label], settings)
        for index, split in enumerate(split_counts(settings.clips_per_class, settings.val, settings.test)):
            pool = _pool(units, split_of, split, index, settings.held_out)
            if not pool:
                continue
            rng = seed_rng(settings.seed, "sfx", label, index)
            layouts = [_layout(pool, rng, settings, cache_dir) for _ in range(CANDIDATES)]
            used = [unit for _, unit in layouts[0]]
            name = f"clips/{split}/{slug(label)}/{slug(label)}-{index:05d}.wav"
            rate = settings.sample_rate
            entry = Entry(
                path=name, duration=settings.seconds, sample_rate=rate, labels=class_labels(label, parents),
                caption=used[0][1].row.caption, category="sfx", split=split,
                group="+".join(sorted({u[0] for u in used})), source=", ".join(sorted({u[1].row.package for u in used})),
                licence=", ".join(sorted({u[1].row.licence for u in used})),
                origin=tuple(f"{u[1].row.package}:{u[1].row.path}@{p.start / rate:.2f}-{(p.start + p.length) / rate:.2f}"
                             for p, u in layouts[0]),
                meta=class_meta(label, words),
            )
            spec = ClipSpec(name, round(settings.seconds * rate), rate,
                            tuple(tuple(p for p, _ in layout) for layout in layouts),
                            tuple(max(u[1].level_db for _, u in layout) for layout in layouts))
            jobs.append(Job((entry,), spec))
    return jobs


Unit = tuple[str, Recording, float, float]


def _pool(units: Sequence[Unit], split_of: Mapping[str, str], split: str, index: int,
          held_out: Sequence[str]) -> list[Unit]:
    """The units a clip of ``split`` draws from; test clips alternate between held-out packages and the others,
    so a held-out clip never mixes in another package's recording chain."""
    pool = [u for u in units if split_of[u[0]] == split]
    held = [u for u in pool if u[1].row.package in held_out]
    rest = [u for u in pool if u[1].row.package not in held_out]
    return pool if not (held and rest) else (held, rest)[index % 2]


def _split_label(recordings: Sequence[Recording], settings: SfxSettings) -> tuple[dict[str, str], list[Unit]]:
    """The split of each unit of one class: held-out packages' recordings to test, the others by weight."""
    held = [r for r in recordings if r.row.package in settings.held_out]
    units = split_units([r for r in recordings if r.row.package not in settings.held_out], settings.seconds)
    weights: dict[str, float] = defaultdict(float)
    for name, _, start, end in units:
        weights[name] += end - start
    split_of = assign_splits(list(weights), settings.seed, settings.val, settings.test, weights) if weights else {}
    held_units = [(f"{r.row.recording}|{r.row.path}", r, 0.0, r.seconds) for r in held]
    split_of.update({u[0]: "test" for u in held_units})
    return split_of, units + held_units


def _layout(pool: Sequence[Unit], rng: np.random.Generator, settings: SfxSettings,
            cache_dir: Path) -> list[tuple[Piece, Unit]]:
    """A crop of a long unit, or one to three short events at random places."""
    rate = settings.sample_rate
    clip = round(settings.seconds * rate)
    unit = pool[int(rng.integers(len(pool)))]
    _, rec, start, end = unit
    span = int((end - start) * rate)
    if span >= clip:
        at = int(start * rate) + int(rng.integers(0, span - clip + 1))
        return [(Piece(str(cache_dir / rec.cache), at, clip, 0, 0.0), unit)]
    pieces, cursor = [], int(rng.uniform(0, 0.5) * rate)
    for _ in range(int(rng.integers(1, 4))):
        if clip - cursor < rate // 4:
            break
        length = min(span, clip - cursor)
        gain = float(rng.uniform(-4, 2))
        pieces.append((Piece(str(cache_dir / rec.cache), int(start * rate), length, cursor, gain), unit))
        cursor += length + int(rng.uniform(0.1, 0.8) * rate)
        unit = pool[int(rng.integers(len(pool)))]
        _, rec, start, end = unit
        span = int((end - start) * rate)
        if span >= clip:
            break
    return pieces


def render(spec: ClipSpec) -> dict[str, np.ndarray]:
    """Assemble the first candidate layout that is neither silent nor far below its recording."""
    for layout, level in zip(spec.candidates, spec.levels):
        clip = np.zeros(spec.samples, dtype=np.float32)
        for piece in layout:
            source = np.load(piece.cache, mmap_mode="r")
            part = np.asarray(source[piece.start:piece.start + piece.length], dtype=np.float32)
            clip[piece.offset:piece.offset + len(part)] += part * np.float32(10 ** (piece.gain_db / 20))
        if rms_db(clip[np.abs(clip) > 1e-4]) < level - QUIET_DB:
            continue
        clip = normalise(clip)
        if not is_silent(clip, spec.sample_rate):
            return {spec.path: clip}
    return {}
