"""Melodies to play: the voices of Bach's chorales (music21 corpus) and seeded random phrases.

Times here are in quarter notes; :func:`excerpt` turns a stretch of a melody into timed
:class:`~research.data.synth.Note` objects at a tempo and in an instrument's range.
Chorales that share a hymn tune (Bach harmonised many tunes more than once) are put in one
group, so a tune never sits on both sides of a train/test split.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from research.data.build import process_pool
from research.data.synth import Note
from soundsift.errors import SoundsiftError

VOICES = ("soprano", "alto", "tenor", "bass")
_SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
}
_DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
_DURATION_WEIGHTS = (0.12, 0.34, 0.06, 0.3, 0.08, 0.1)


@dataclass(frozen=True)
class Melody:
    """A monophonic line: ``(onset, length, pitch)`` triples in quarter notes and MIDI pitches."""

    name: str
    notes: tuple[tuple[float, float, int], ...]

    @property
    def length(self) -> float:
        """Duration in quarter notes, to the end of the last note."""
        return max(onset + dur for onset, dur, _ in self.notes)


@dataclass(frozen=True)
class Chorale:
    """The four voices of one chorale and the group (hymn tune) it belongs to."""

    name: str
    group: str
    voices: dict[str, Melody]


def load_chorales(cache: Path, workers: int = 1, limit: int = 0) -> list[Chorale]:
    """The four-voice Bach chorales of the music21 corpus, parsed once and cached as JSON.

    ``limit`` > 0 reads only the first ``limit`` scores (sorted by file name), for quick builds.
    """
    try:
        import music21
        from music21 import corpus
    except ImportError:
        raise SoundsiftError("music21 is not installed; install it with: pip install 'soundsift[train]'") from None
    if cache.is_file():
        data = json.loads(cache.read_text())
        if data.get("music21") == music21.__version__ and data.get("limit") == limit:
            return [_chorale_from_json(c) for c in data["chorales"]]
    paths = sorted(str(p) for p in corpus.getComposer("bach"))[: limit or None]
    if not paths:
        raise SoundsiftError("the music21 corpus has no Bach chorales (is the full music21 wheel installed?)")
    if workers > 1:
        with process_pool(workers) as pool:
            parsed = [c for c in pool.map(_parse_chorale, paths, chunksize=8) if c is not None]
    else:
        parsed = [c for c in map(_parse_chorale, paths) if c is not None]
    chorales = _group_by_tune(parsed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    payload = {"music21": music21.__version__, "limit": limit, "chorales": [_chorale_to_json(c) for c in chorales]}
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, cache)
    return chorales


def _parse_chorale(path: str) -> tuple[str, dict[str, Melody]] | None:
    from music21 import corpus

    score = corpus.parse(path)
    name = Path(path).name.split(".mxl")[0]
    voices: dict[str, Melody] = {}
    for part in score.parts:
        role = (part.partName or "").strip().lower()
        if role in VOICES and role not in voices:
            notes = tuple(
                (float(n.offset), float(n.quarterLength), int(n.pitches[-1].midi))
                for n in part.stripTies().flatten().notes if float(n.quarterLength) > 0
            )
            if len(notes) >= 8:
                voices[role] = Melody(f"{name}:{role}", notes)
    return (name, voices) if len(voices) == len(VOICES) else None


def _group_by_tune(parsed: Sequence[tuple[str, dict[str, Melody]]]) -> list[Chorale]:
    """Group chorales whose soprano lines open with the same 12 intervals (the same hymn tune)."""
    groups: dict[tuple[int, ...], str] = {}
    chorales = []
    for name, voices in parsed:
        pitches = [p for _, _, p in voices["soprano"].notes]
        tune = tuple(np.diff(pitches[:13]).tolist())
        group = groups.setdefault(tune, f"tune:{name}")
        chorales.append(Chorale(name, group, voices))
    return chorales


def _chorale_to_json(c: Chorale) -> dict:
    return {"name": c.name, "group": c.group, "voices": {k: [list(n) for n in m.notes] for k, m in c.voices.items()}}


def _chorale_from_json(d: dict) -> Chorale:
    voices = {k: Melody(f"{d['name']}:{k}", tuple((float(a), float(b), int(p)) for a, b, p in v))
              for k, v in d["voices"].items()}
    return Chorale(d["name"], d["group"], voices)


def random_phrase(rng: np.random.Generator, quarters: float, name: str) -> Melody:
    """A seeded melodic random walk on a random scale: mostly steps, some leaps, a few rests."""
    scale = _SCALES[rng.choice(sorted(_SCALES))]
    tonic = int(rng.integers(55, 67))
    degree, t, notes = 0, 0.0, []
    while t < quarters:
        dur = float(rng.choice(_DURATIONS, p=_DURATION_WEIGHTS))
        if rng.random() < 0.08:
            t += dur
            continue
        octave, step = divmod(degree, len(scale))
        notes.append((t, dur, tonic + 12 * octave + scale[step]))
        t += dur
        move = rng.choice((-1, 1)) * (int(rng.choice((1, 2, 3, 4), p=(0.55, 0.25, 0.12, 0.08))))
        degree = int(np.clip(degree + move, -len(scale), 2 * len(scale)))
    if not notes:
        notes.append((0.0, quarters, tonic))
    return Melody(name, tuple(notes))


def excerpt(
    melody: Melody, rng: np.random.Generator, seconds: float, bpm: float, low: int, high: int,
    articulation: float, velocity: tuple[int, int], start: float | None = None,
) -> tuple[list[Note], int]:
    """Take a stretch of ``melody`` lasting ``seconds`` at ``bpm``, moved into ``low..high``.

    The stretch starts at ``start`` (in quarters), or on a note picked at random when that
    is None; the whole melody is shifted by octaves so
    its middle sits in the middle of the range, and any note still outside is folded in by
    octaves.  ``articulation`` scales each note's sounding length (0.5 staccato, 1.0 legato);
    velocities follow a seeded swell between ``velocity`` bounds.  Returns notes and the shift.
    """
    beat = 60.0 / bpm
    quarters = seconds / beat
    if start is None:
        onsets = [onset for onset, _, _ in melody.notes]
        latest = max(0.0, melody.length - quarters)
        start = float(rng.choice([o for o in onsets if o <= latest] or [onsets[0]]))
    chosen = [(o - start, d, p) for o, d, p in melody.notes if start <= o < start + quarters]
    pitches = np.array([p for _, _, p in melody.notes])
    shift = 12 * round(((low + high) / 2 - float(np.median(pitches))) / 12)
    lo_v, hi_v = velocity
    swell = rng.uniform(-1, 1, size=2)
    notes = []
    for onset, dur, pitch in chosen:
        p = pitch + shift
        while p < low:
            p += 12
        while p > high:
            p -= 12
        frac = onset / quarters
        level = 0.5 + 0.5 * ((1 - frac) * swell[0] + frac * swell[1])
        vel = int(np.clip(lo_v + level * (hi_v - lo_v) + rng.normal(0, 6), 1, 127))
        notes.append(Note(onset * beat, (onset + dur * articulation) * beat, int(p), vel))
    return notes, shift
