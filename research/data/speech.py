"""``python -m research data speech``: speech clips synthesised with espeak-ng.

Many voice variants (reviewed by gender in :data:`VARIANTS`), five languages, and random
speaking rates, pitches and word gaps.  Splits keep both the sentences and the voice
variants apart: test clips speak unseen text in unseen voices.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile

from research.data.build import BuildReport, Job, check_settings, run_jobs, seed_rng, slug
from research.data.music import split_counts
from research.data.sentences import OTHER_LANGUAGES, english_sentences
from research.data.settings import ClipCorpusSettings
from research.data.splits import assign_splits
from soundsift.audio import downmix, resample
from soundsift.errors import SoundsiftError
from soundsift.training.data.compose import single_caption
from soundsift.training.data.levels import fit_length, is_silent, normalise
from soundsift.training.data.manifest import Entry
from soundsift.training.data.vocabulary import phrase

SOURCE = "espeak-ng (Debian package espeak-ng)"
LICENCE = "GPL-3.0-or-later (espeak-ng); text generated for soundsift"

# espeak-ng voice variants by the gender their voice file declares (voices/!v/*); robotic,
# whispering and novelty variants are left out.
VARIANTS: dict[str, tuple[str, ...]] = {
    "man speaking": ("m1", "m2", "m3", "m4", "m6", "m7", "m8", "Andy", "Lee", "Denis", "Diogo", "Henrique",
                     "Hugo", "Marco", "antonio", "michel", "miguel", "sandro", "travis", "victor"),
    "woman speaking": ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty", "belinda",
                       "linda", "steph", "steph2", "steph3", "grandma"),
}
ENGLISH_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
LANGUAGE_VOICES = {"French": "fr-fr", "German": "de", "Spanish": "es", "Italian": "it"}
PITCH = {"man speaking": (25, 60), "woman speaking": (40, 80)}


@dataclass(frozen=True)
class SpeechSettings(ClipCorpusSettings):
    """The speech corpus's own settings: clips per class and the sentences spoken."""

    clips_per_class: int = 1200
    english_share: float = 0.7
    sentences: int = 3000


@dataclass(frozen=True)
class Utterance:
    """One espeak-ng call: voice, text and prosody, plus where the clip starts."""

    voice: str
    text: str
    rate: int
    pitch: int
    gap: int
    lead: float
    path: str
    seconds: float
    sample_rate: int


def espeak() -> str:
    """The espeak-ng executable, or a clear error saying how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SoundsiftError("espeak-ng not found; install it with: apt-get install espeak-ng")
    return exe


def build_speech(out: Path, settings: SpeechSettings, workers: int = 1, progress: bool = True) -> BuildReport:
    """Plan and synthesise the corpus into ``out`` (resuming a partial build there)."""
    espeak()
    check_settings(out, {"recipe": "speech", **asdict(settings)})
    return run_jobs(out, plan(settings), render, workers, "speech", progress)


def plan(settings: SpeechSettings) -> list[Job]:
    """One job per clip; texts and voices are drawn from their split's pool."""
    texts = {f"en:{i}": t for i, t in enumerate(english_sentences(settings.sentences, settings.seed))}
    text_split = assign_splits(sorted(texts), settings.seed, settings.val, settings.test)
    for language, lines in OTHER_LANGUAGES.items():
        keys = [f"{language[:2].lower()}:{i}" for i in range(len(lines))]
        texts.update(zip(keys, lines))
        text_split.update(assign_splits(keys, settings.seed, settings.val, settings.test))
    jobs = []
    for label, variants in VARIANTS.items():
        voice_split = assign_splits(variants, settings.seed, settings.val, settings.test)
        for index, split in enumerate(split_counts(settings.clips_per_class, settings.val, settings.test)):
            rng = seed_rng(settings.seed, "speech", label, index)
            variant = str(rng.choice(sorted(v for v in variants if voice_split[v] == split)))
            english = rng.random() < settings.english_share
            language = "English" if english else str(rng.choice(sorted(LANGUAGE_VOICES)))
            prefix = "en:" if english else f"{language[:2].lower()}:"
            pool = sorted(k for k in texts if k.startswith(prefix) and text_split[k] == split)
            keys = [str(k) for k in rng.choice(pool, size=min(2, len(pool)), replace=False)]
            base = str(rng.choice(ENGLISH_VOICES)) if english else LANGUAGE_VOICES[language]
            name = f"clips/{split}/{slug(label)}/{slug(label)}-{index:05d}.wav"
            utterance = Utterance(
                voice=f"{base}+{variant}", text=" ".join(texts[k] for k in keys), rate=int(rng.integers(120, 221)),
                pitch=int(rng.integers(*PITCH[label])), gap=int(rng.integers(0, 6)), lead=float(rng.uniform(0, 0.4)),
                path=name, seconds=settings.seconds, sample_rate=settings.sample_rate,
            )
            caption = single_caption(phrase(label), rng)
            if not english:
                caption = f"{phrase(label).noun} {language}"
            entry = Entry(
                path=name, duration=settings.seconds, sample_rate=settings.sample_rate, labels=(label, "speech"),
                caption=caption, category="speech", split=split, group="+".join(keys), source=SOURCE,
                licence=LICENCE, origin=tuple(keys),
                meta={"voice": utterance.voice, "language": language, "rate": utterance.rate,
                      "pitch": utterance.pitch, "text": utterance.text},
            )
            jobs.append(Job((entry,), utterance))
    return jobs


def render(u: Utterance) -> dict[str, np.ndarray]:
    """Synthesise, resample, place after a short lead-in, crop; nothing if it came out silent."""
    cmd = [espeak(), "-v", u.voice, "-s", str(u.rate), "-p", str(u.pitch), "-g", str(u.gap), "--stdout", u.text]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        raise SoundsiftError(f"espeak-ng failed for voice {u.voice}: {result.stderr.decode(errors='replace').strip()}")
    audio, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)
    mono = resample(downmix(audio.T)[None, :], rate, u.sample_rate)[0]
    lead = np.zeros(int(u.lead * u.sample_rate), dtype=np.float32)
    clip = normalise(fit_length(np.concatenate([lead, mono]), round(u.seconds * u.sample_rate)))
    return {} if is_silent(clip, u.sample_rate) else {u.path: clip}
