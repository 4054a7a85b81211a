"""``python -m research data music``: single-instrument clips and multi-instrument chorale pieces.

Clips are rendered with FluidSynth from a General MIDI SoundFont: melodies are excerpts of
Bach chorale voices (music21 corpus) or seeded random phrases, played at a random tempo,
articulation, dynamics and vibrato within each instrument's range; drums play seeded
grooves.  Pieces render two to four voices of one chorale, each on its own instrument, and
keep every voice as an exact stem of the mixture.

Splits are by tune (every chorale harmonising one hymn tune lands in one split) and the
test split is rendered with a different SoundFont than train and val, so test scores
measure generalisation to unheard melodies and unheard instrument samples.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.drums import KITS, groove
from research.data.melodies import VOICES, Chorale, Melody, excerpt, load_chorales, random_phrase
from research.data.settings import ClipCorpusSettings
from research.data.splits import assign_splits
from research.data.synth import FluidRenderer, Note, Soundfont, resolve_soundfont
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import compose_caption, single_caption
from soundsift.training.data.levels import is_silent, normalise
from soundsift.training.data.manifest import Entry, Stem
from soundsift.training.data.vocabulary import phrase

SCORE_SOURCE = "music21 corpus: J. S. Bach chorales"
SCORE_LICENCE = "public domain (scores); music21 encodings BSD-3-Clause"


@dataclass(frozen=True)
class Instrument:
    """A class: GM programs that voice it, a playable MIDI range, and its chorale voices."""

    label: str
    programs: tuple[int, ...]
    low: int
    high: int
    vibrato: bool = False
    drums: bool = False
    voices: tuple[str, ...] = ()


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("accordion", (21,), 53, 89, voices=("soprano", "alto")),
    Instrument("acoustic guitar", (24, 25), 40, 84, voices=("alto", "tenor")),
    Instrument("bagpipe", (109,), 60, 84, voices=("soprano",)),
    Instrument("bassoon", (70,), 34, 72, vibrato=True, voices=("tenor", "bass")),
    Instrument("cello", (42,), 36, 76, vibrato=True, voices=("tenor", "bass")),
    Instrument("clarinet", (71,), 50, 89, voices=("soprano", "alto", "tenor")),
    Instrument("drums", KITS, 35, 81, drums=True),
    Instrument("electric bass", (33, 34), 28, 60, voices=("bass",)),
    Instrument("flute", (73,), 60, 96, vibrato=True, voices=("soprano",)),
    Instrument("piano", (0, 1), 36, 96, voices=("soprano", "alto", "tenor", "bass")),
    Instrument("saxophone", (65, 66), 49, 81, vibrato=True, voices=("alto", "tenor")),
    Instrument("trumpet", (56,), 55, 82, voices=("soprano", "alto")),
    Instrument("tuba", (58,), 28, 58, voices=("bass",)),
    Instrument("violin", (40,), 55, 100, vibrato=True, voices=("soprano", "alto")),
    Instrument("xylophone", (13,), 65, 108, voices=("soprano",)),
)
BY_LABEL = {i.label: i for i in INSTRUMENTS}
ARTICULATIONS = {"legato": 1.0, "normal": 0.85, "staccato": 0.45}


@dataclass(frozen=True)
class MusicSettings(ClipCorpusSettings):
    """The music corpus's own settings: clip and piece counts, SoundFonts, classes and the chorale share."""

    clips_per_class: int = 400
    pieces: int = 600
    soundfonts: tuple[str, ...] = ("fluidr3",)
    test_soundfont: str = "timgm6mb"
    classes: tuple[str, ...] = tuple(i.label for i in INSTRUMENTS)
    chorale_share: float = 0.6
    chorale_limit: int = 0


@dataclass(frozen=True)
class Voice:
    """One instrument's part in a render spec."""

    program: int
    drums: bool
    notes: tuple[Note, ...]
    controls: tuple[tuple[int, int], ...]
    gain_db: float = 0.0


@dataclass(frozen=True)
class Item:
    """One clip (one voice) or one piece (several voices, written as stems plus their mix)."""

    paths: tuple[str, ...]
    voices: tuple[Voice, ...]
    mixture: str | None = None


@dataclass(frozen=True)
class Batch:
    """Items rendered in order on one fresh synthesizer."""

    soundfont: Path
    seconds: float
    sample_rate: int
    items: tuple[Item, ...]


BATCH_SIZE = 32


def build_music(out: Path, settings: MusicSettings, workers: int = 1, progress: bool = True) -> BuildReport:
    """Plan and render the corpus into ``out`` (resuming a partial build there)."""
    unknown = sorted(set(settings.classes) - set(BY_LABEL))
    if unknown:
        raise SoundsiftError(f"unknown instrument class(es) {unknown}; known: {sorted(BY_LABEL)}")
    if not settings.soundfonts:
        raise SoundsiftError("at least one train/val SoundFont is needed")
    train_fonts = tuple(resolve_soundfont(name) for name in settings.soundfonts)
    fonts = {"train": train_fonts, "val": train_fonts, "test": (resolve_soundfont(settings.test_soundfont),)}
    check_settings(out, {"recipe": "music", **asdict(settings)})
    chorales = load_chorales(out / "cache" / "chorales.json", workers, settings.chorale_limit)
    split_of = assign_splits([c.group for c in chorales], settings.seed, settings.val, settings.test)
    by_split: dict[str, list[Chorale]] = {s: [c for c in chorales if split_of[c.group] == s] for s in fonts}
    planned = plan_clips(settings, fonts, by_split) + plan_pieces(settings, fonts, by_split)
    return run_jobs(out, batches(planned, settings), render, workers, "music", progress)


def pick_font(fonts: dict[str, tuple[Soundfont, ...]], split: str, index: int) -> Soundfont:
    """Round-robin over the split's SoundFonts by item index (draws nothing from the item's RNG)."""
    return fonts[split][index % len(fonts[split])]


def batches(planned: Sequence[tuple[Entry, Item, Soundfont]], settings: MusicSettings) -> list[Job]:
    """Group planned items into fixed batches of one SoundFont and one kind (clips or pieces)."""
    jobs = []
    keys = sorted({(font.path, item.mixture is not None) for _, item, font in planned}, key=str)
    for path, is_piece in keys:
        group = [(e, i) for e, i, f in planned if f.path == path and (i.mixture is not None) == is_piece]
        for start in range(0, len(group), BATCH_SIZE):
            chunk = group[start:start + BATCH_SIZE]
            spec = Batch(path, settings.seconds, settings.sample_rate, tuple(i for _, i in chunk))
            jobs.append(Job(tuple(e for e, _ in chunk), spec, bit_depth="24" if is_piece else "16"))
    return jobs


def split_counts(n: int, val: float, test: float) -> list[str]:
    """The split of each of ``n`` items: the first go to test, the next to val, the rest to train."""
    n_test, n_val = round(n * test), round(n * val)
    return ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)


def plan_clips(
    settings: MusicSettings, fonts: dict[str, tuple[Soundfont, ...]], by_split: dict[str, list[Chorale]],
) -> list[tuple[Entry, Item, Soundfont]]:
    """One job per single-instrument clip, all random choices drawn here."""
    jobs = []
    for label in settings.classes:
        inst = BY_LABEL[label]
        for index, split in enumerate(split_counts(settings.clips_per_class, settings.val, settings.test)):
            rng = seed_rng(settings.seed, "clip", label, index)
            font = pick_font(fonts, split, index)
            name = f"clips/{split}/{slug(label)}/{slug(label)}-{index:05d}.wav"
            voice, group, origin, meta = _plan_voice(inst, rng, settings, by_split[split], f"{label}-{index}")
            entry = Entry(
                path=name, duration=settings.seconds, sample_rate=settings.sample_rate, labels=(label,),
                caption=single_caption(phrase(label), rng), category="music", split=split, group=group,
                source=f"{font.source}; {origin[1]}", licence=f"{font.licence} (samples); {origin[2]}",
                origin=(origin[0],), meta={"soundfont": font.name, "program": voice.program, **meta},
            )
            jobs.append((entry, Item((name,), (voice,)), font))
    return jobs


def _plan_voice(
    inst: Instrument, rng: np.random.Generator, settings: MusicSettings, chorales: Sequence[Chorale], key: str,
) -> tuple[Voice, str, tuple[str, str, str], dict]:
    program = int(rng.choice(inst.programs))
    bpm = float(rng.uniform(60, 150))
    if inst.drums:
        notes = groove(rng, settings.seconds, bpm)
        origin = (f"groove:{key}", "seeded drum groove", "generated")
        return Voice(program, True, tuple(notes), ()), origin[0], origin, {"bpm": round(bpm, 2)}
    if chorales and rng.random() < settings.chorale_share:
        chorale = chorales[int(rng.integers(len(chorales)))]
        melody = chorale.voices[str(rng.choice(VOICES))]
        group, origin = chorale.group, (melody.name, SCORE_SOURCE, SCORE_LICENCE)
    else:
        melody = random_phrase(rng, 48.0, f"phrase:{key}")
        group, origin = melody.name, (melody.name, "seeded random phrase", "generated")
    voice, meta = _perform(melody, inst, program, rng, settings.seconds, bpm)
    return voice, group, origin, meta


def _perform(
    melody: Melody, inst: Instrument, program: int, rng: np.random.Generator, seconds: float, bpm: float,
    start: float | None = None,
) -> tuple[Voice, dict]:
    """Draw a performance (articulation, dynamics, vibrato) of an excerpt of ``melody``."""
    articulation = str(rng.choice(sorted(ARTICULATIONS)))
    low_velocity = int(rng.integers(40, 90))
    velocity = (low_velocity, min(127, low_velocity + int(rng.integers(10, 45))))
    notes, shift = excerpt(melody, rng, seconds, bpm, inst.low, inst.high, ARTICULATIONS[articulation], velocity,
                           start)
    controls = ((1, int(rng.integers(0, 60))),) if inst.vibrato else ()
    meta = {"bpm": round(bpm, 2), "articulation": articulation, "transpose": shift}
    return Voice(program, False, tuple(notes), controls), meta


def plan_pieces(
    settings: MusicSettings, fonts: dict[str, tuple[Soundfont, ...]], by_split: dict[str, list[Chorale]],
) -> list[tuple[Entry, Item, Soundfont]]:
    """One job per chorale piece: 2-4 voices on distinct instruments, with exact stems."""
    jobs = []
    for index, split in enumerate(split_counts(settings.pieces, settings.val, settings.test)):
        if not by_split[split]:
            continue
        rng = seed_rng(settings.seed, "piece", index)
        chorale = by_split[split][int(rng.integers(len(by_split[split])))]
        bpm = float(rng.uniform(60, 120))
        window = excerpt_window(chorale, rng, settings.seconds, bpm)
        cast = _cast([r for r in VOICES if len(window[r]) >= 2], settings.classes, rng)
        if len(cast) < 2:
            continue
        font = pick_font(fonts, split, index)
        folder = f"pieces/{split}/piece-{index:05d}"
        voices, stems = [], []
        for role, inst in cast:
            program = int(rng.choice(inst.programs))
            melody = Melody(chorale.voices[role].name, window[role])
            voice, _ = _perform(melody, inst, program, rng, settings.seconds, bpm, start=0.0)
            voices.append(Voice(voice.program, False, voice.notes, voice.controls, float(rng.uniform(-4, 4))))
            stems.append(Stem(f"{folder}/{slug(inst.label)}.wav", (inst.label,), phrase(inst.label).clause))
        labels = tuple(inst.label for _, inst in cast)
        entry = Entry(
            path=f"{folder}/mix.wav", duration=settings.seconds, sample_rate=settings.sample_rate, labels=labels,
            caption=compose_caption([phrase(x) for x in labels], rng), category="mixture", split=split,
            group=chorale.group, source=f"{font.source}; {SCORE_SOURCE}", licence=f"{font.licence} (samples); "
            f"{SCORE_LICENCE}", origin=tuple(chorale.voices[r].name for r, _ in cast), stems=tuple(stems),
            meta={"soundfont": font.name, "bpm": round(bpm, 2), "voices": [r for r, _ in cast]},
        )
        jobs.append((entry, Item(tuple(s.path for s in stems), tuple(voices), mixture=entry.path), font))
    return jobs


def _cast(available: Sequence[str], classes: Sequence[str], rng: np.random.Generator) -> list[tuple[str, Instrument]]:
    """Pick 2-4 of the available voices and a distinct instrument for each that can play it."""
    if len(available) < 2:
        return []
    count = int(rng.integers(2, len(available) + 1))
    roles = sorted(rng.choice(available, size=count, replace=False), key=VOICES.index)
    used: set[str] = set()
    cast = []
    for role in roles:
        options = [BY_LABEL[c] for c in classes if role in BY_LABEL[c].voices and c not in used]
        if options:
            inst = options[int(rng.integers(len(options)))]
            used.add(inst.label)
            cast.append((str(role), inst))
    return cast


def excerpt_window(
    chorale: Chorale, rng: np.random.Generator, seconds: float, bpm: float,
) -> dict[str, tuple[tuple[float, float, int], ...]]:
    """The same stretch of every voice of a chorale, re-timed to start at 0 (quarter notes)."""
    quarters = seconds * bpm / 60.0
    length = min(m.length for m in chorale.voices.values())
    onsets = sorted({o for o, _, _ in chorale.voices["soprano"].notes if o <= max(0.0, length - quarters)}) or [0.0]
    start = float(rng.choice(onsets))
    return {
        role: tuple((o - start, d, p) for o, d, p in m.notes if start <= o < start + quarters)
        for role, m in chorale.voices.items()
    }


def render(batch: Batch) -> dict[str, np.ndarray]:
    """Render a batch on one synthesizer; leave out items with a silent voice."""
    out: dict[str, np.ndarray] = {}
    with FluidRenderer(batch.soundfont, batch.sample_rate) as synth:
        for item in batch.items:
            out.update(_render_item(synth, item, batch.seconds))
    return out


def _render_item(synth: FluidRenderer, item: Item, seconds: float) -> dict[str, np.ndarray]:
    """Normalise each voice, apply its gain, and for pieces add the mix (peak-limited, exact)."""
    stems = []
    for voice in item.voices:
        audio = normalise(synth.render(voice.program, voice.notes, seconds, voice.drums, dict(voice.controls)))
        if is_silent(audio, synth.sample_rate):
            return {}
        stems.append(audio * np.float32(10 ** (voice.gain_db / 20)))
    if item.mixture is None:
        return dict(zip(item.paths, stems))
    peak = float(np.max(np.abs(np.sum(stems, axis=0))))
    scale = np.float32(min(1.0, 0.95 / peak)) if peak > 0 else np.float32(1.0)
    out = {p: s * scale for p, s in zip(item.paths, stems)}
    out[item.mixture] = np.sum(list(out.values()), axis=0, dtype=np.float32)
    return out
