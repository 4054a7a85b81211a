"""``python -m research data realinstruments``: instruments played from recorded samples.

The SoundFonts of the ``music`` recipe are all General MIDI sets; this corpus adds the
instruments people ask for that they render poorly or not at all (electric guitar, organ,
bass guitar, strings ensemble, brass section, harp, synth pad, singing voice, hand
percussion), the orchestral, keyboard and world instruments the ``music`` recipe lacks
(oboe, trombone, French horn, harpsichord, celesta, sitar, steel drums...) and finer kinds
of its instruments (alto, tenor and baritone saxophone, classical and jazz guitar, muted
trumpet; their clips also carry the broader class) from the FreePats patches (recorded
samples; the pads and synth leads are synthetic by nature), and real drum kits (whole kits, and their kick drums, snare drums, hi-hats, tom-toms and
cymbals as classes of their own), drum machines and hand percussion from the Hydrogen drum
kits, plus an acoustic kit and tabla strokes recorded for freesound (sonic-pi-samples,
CC0).  Files
are read from the fetched packages (:mod:`research.data.debian`) through the reviewed table
``realinstruments_table.tsv``.  A pitched clip is a seeded random phrase
(:func:`research.data.melodies.random_phrase`) in the instrument's range, every note the
patch sample nearest in pitch, resampled and looped as the patch says; an unpitched clip
(range 0-0) is a seeded sixteenth-note rhythm of the hits of one recording (one kit).

Splits keep patches apart (``recording`` in the table): a class with two recordings or more
never has one in two splits.  A class with a single patch (harp, brass section, singing
voice, tabla, oboe...) cannot: its splits differ only by phrase, and its test clips measure
new melodies, not new instruments.  A recording shared by several classes (a kit under ``drums`` and
``kick drum``) lands in the same split in each of them.
"""
from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile

from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.debian import fetch
from research.data.melodies import excerpt, random_phrase
from research.data.music import split_counts
from research.data.realspeech_table import read_rows
from research.data.settings import ClipCorpusSettings
from research.data.sfx_table import class_labels, class_meta, class_parents, class_words
from research.data.splits import assign_splits
from soundsift.audio import downmix
from soundsift.errors import AudioError, SoundsiftError
from soundsift.training.data.levels import is_silent, normalise
from soundsift.training.data.manifest import Entry

TABLE = Path(__file__).with_name("realinstruments_table.tsv")
_HEADER = 239  # file, instrument and layer headers of a GUS patch
_SAMPLE_HEADER = 96
_MODE_16BIT, _MODE_UNSIGNED, _MODE_LOOP = 0x01, 0x02, 0x04
_RELEASE_S = 0.08


class PatchFile(NamedTuple):
    """One row of the table: a patch file, its class and caption, and the playable range (MIDI pitches)."""

    label: str
    package: str
    path: str
    caption: str
    recording: str
    licence: str
    low: str
    high: str

    @property
    def pitched(self) -> bool:
        """Percussion rows (range 0-0) are played at the sample's own pitch."""
        return int(self.high) > 0


@dataclass(frozen=True)
class PatchSample:
    """One sample of a patch: audio, its rate and root frequency, the pitch range it covers, its loop."""

    audio: np.ndarray
    rate: int
    root_hz: float
    low_hz: float
    high_hz: float
    loop: tuple[int, int] | None


def read_patch(data: bytes, where: str) -> list[PatchSample]:
    """The samples of a Gravis Ultrasound patch (``GF1PATCH110``), 8- or 16-bit, signed or not."""
    if not data.startswith(b"GF1PATCH1"):
        raise SoundsiftError(f"{where}: not a GUS patch")
    count = struct.unpack_from("<H", data, 85)[0]
    samples, at = [], _HEADER
    for _ in range(count):
        if at + _SAMPLE_HEADER > len(data):
            raise SoundsiftError(f"{where}: truncated patch")
        size, loop_start, loop_end, rate, low, high, root = struct.unpack_from("<IIIHIII", data, at + 8)
        mode = data[at + 55]
        raw = data[at + _SAMPLE_HEADER:at + _SAMPLE_HEADER + size]
        at += _SAMPLE_HEADER + size
        wide = bool(mode & _MODE_16BIT)
        audio = np.frombuffer(raw[: len(raw) // 2 * 2] if wide else raw,
                              dtype=("<u2" if mode & _MODE_UNSIGNED else "<i2") if wide else
                              (np.uint8 if mode & _MODE_UNSIGNED else np.int8)).astype(np.float32)
        if mode & _MODE_UNSIGNED:
            audio -= 32768.0 if wide else 128.0
        audio /= 32768.0 if wide else 128.0
        step = 2 if wide else 1
        loop = (loop_start // step, loop_end // step) if mode & _MODE_LOOP and loop_end > loop_start else None
        samples.append(PatchSample(audio, rate, root / 1000.0, low / 1000.0, high / 1000.0, loop))
    if not samples:
        raise SoundsiftError(f"{where}: the patch holds no samples")
    return samples


@lru_cache(maxsize=64)
def _load(path: str) -> tuple[PatchSample, ...]:
    """A GUS patch's samples, or a plain audio file (a drum hit) as one unlooped sample at its own pitch."""
    if path.endswith(".pat"):
        return tuple(read_patch(Path(path).read_bytes(), path))
    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(path, f"cannot decode ({exc})") from None
    return (PatchSample(downmix(audio.T), rate, 1.0, 0.0, float("inf"), None),)


def play_note(samples: tuple[PatchSample, ...], hz: float | None, seconds: float, rate: int) -> np.ndarray:
    """One note of ``seconds`` at ``hz`` (None: the sample's own pitch), looped if the patch loops, with a release."""
    sample = min(samples, key=lambda s: (not (s.low_hz <= (hz or s.root_hz) <= s.high_hz),
                                         abs(np.log2((hz or s.root_hz) / max(s.root_hz, 1e-3)))))
    step = (hz or sample.root_hz) / max(sample.root_hz, 1e-3) * sample.rate / rate
    n = int(seconds * rate)
    positions = np.arange(n) * step
    length = len(sample.audio)
    if sample.loop and positions[-1] >= sample.loop[1]:
        start, end = sample.loop
        over = positions >= end
        positions[over] = start + np.mod(positions[over] - end, max(end - start, 1))
    inside = positions < length - 1
    note = np.zeros(n, dtype=np.float32)
    note[inside] = np.interp(positions[inside], np.arange(length), sample.audio)
    fade = min(int(_RELEASE_S * rate), n)
    note[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return note


@dataclass(frozen=True)
class RealInstrumentSettings(ClipCorpusSettings):
    """The sampled-instrument corpus's own settings: clips per class."""

    clips_per_class: int = 200


Notes = tuple[tuple[float, float, "float | None", float, int], ...]


@dataclass(frozen=True)
class ClipSpec:
    """A clip to render: its sample files, and its notes as (start s, length s, Hz or None, gain, file index)."""

    path: str
    patches: tuple[str, ...]
    notes: Notes
    samples: int
    sample_rate: int


def build_realinstruments(
    out: Path, settings: RealInstrumentSettings, workers: int = 1, progress: bool = True,
    rows: tuple[PatchFile, ...] | None = None, roots: dict[str, str] | None = None, cache: str | Path | None = None,
) -> BuildReport:
    """Fetch the packages, plan seeded clips per class and split, and render them into ``out``.

    ``roots`` names a package's unpacked tree directly (then it is not fetched); ``rows``
    replaces the reviewed table (tests use a small one).
    """
    rows = rows if rows is not None else read_rows(TABLE, PatchFile)
    trees = {p: Path(roots[p]) if roots and p in roots else fetch(p, cache, progress) for p in {r.package for r in rows}}
    table_hash = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]
    check_settings(out, {"recipe": "realinstruments", **asdict(settings), "table": table_hash})
    for r in rows:
        if not (trees[r.package] / r.path).is_file():
            raise SoundsiftError(f"{r.package}:{r.path}: listed in the instrument table but not in the package")
    return run_jobs(out, plan(rows, trees, settings), render, workers, "realinstruments", progress)


def plan(rows: tuple[PatchFile, ...], trees: dict[str, Path], settings: RealInstrumentSettings) -> list[Job]:
    """Seeded clips per class, split by recording where the class has two or more."""
    by_label: dict[str, list[PatchFile]] = defaultdict(list)
    for r in rows:
        by_label[r.label].append(r)
    words, parents = class_words(), class_parents()
    splits = class_splits(rows, settings)
    jobs = []
    for label in sorted(by_label):
        patches, split_of = by_label[label], splits[label]
        for index, split in enumerate(split_counts(settings.clips_per_class, settings.val, settings.test)):
            pool = [r for r in patches if split_of.get(r.recording, split) == split]
            if not pool:
                continue
            rng = seed_rng(settings.seed, "realinstruments", label, index)
            row = pool[int(rng.integers(len(pool)))]
            kit = [r for r in pool if r.recording == row.recording] if not row.pitched else [row]
            notes = _notes(row, len(kit), rng, settings.seconds)
            name = f"clips/{split}/{slug(label)}/{slug(label)}-{index:05d}.wav"
            entry = Entry(path=name, duration=settings.seconds, sample_rate=settings.sample_rate, labels=class_labels(label, parents),
                          caption=row.caption, category="music", split=split, group=row.recording,
                          source=row.package, licence=row.licence, origin=tuple(f"{r.package}:{r.path}" for r in kit),
                          meta=class_meta(label, words))
            spec = ClipSpec(name, tuple(str(trees[r.package] / r.path) for r in kit), notes,
                            round(settings.seconds * settings.sample_rate), settings.sample_rate)
            jobs.append(Job((entry,), spec))
    return jobs


def class_splits(rows: tuple[PatchFile, ...], settings: RealInstrumentSettings) -> dict[str, dict[str, str]]:
    """Each class's split of each of its recordings (empty for a class with one recording: split by phrase).

    A kit shared by several classes (drums, kick drum, snare drum...) must land in one split in all of
    them; the drum-part classes list the same kits as ``drums`` so the seeded assignment agrees.
    """
    recordings: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        recordings[r.label].add(r.recording)
    return {label: assign_splits(sorted(groups), settings.seed, settings.val, settings.test) if len(groups) > 1 else {}
            for label, groups in recordings.items()}


def _notes(row: PatchFile, hits: int, rng: np.random.Generator, seconds: float) -> Notes:
    """A phrase in the row's range (pitched), or a rhythm on a sixteenth-note grid of ``hits`` sounds (unpitched)."""
    bpm = float(rng.uniform(70, 150))
    if not row.pitched:
        grid = 15.0 / bpm
        times = [k * grid for k in range(int(seconds / grid)) if rng.random() < 0.45]
        return tuple((t, min(1.0, seconds - t), None, float(rng.uniform(0.4, 1.0)), int(rng.integers(hits)))
                     for t in times)
    melody = random_phrase(rng, seconds * bpm / 60.0 + 4, row.recording)
    notes, _ = excerpt(melody, rng, seconds, bpm, int(row.low), int(row.high), float(rng.uniform(0.6, 1.0)),
                       (60, 120), start=0.0)
    return tuple((n.start, max(0.05, min(n.end, seconds) - n.start), 440.0 * 2 ** ((n.pitch - 69) / 12),
                  n.velocity / 127, 0) for n in notes)


def render(spec: ClipSpec) -> dict[str, np.ndarray]:
    """Play the notes with the patch; a clip that comes out silent is dropped."""
    clip = np.zeros(spec.samples, dtype=np.float32)
    for start, length, hz, gain, which in spec.notes:
        at = int(start * spec.sample_rate)
        note = play_note(_load(spec.patches[which]), hz, length, spec.sample_rate)[: spec.samples - at]
        clip[at:at + len(note)] += gain * note
    clip = normalise(clip)
    return {} if is_silent(clip, spec.sample_rate) else {spec.path: clip}
