"""What a model knows: its classes, the phrasings it was trained on, and a summary of its training data.

Every model directory may carry ``vocabulary.json`` (written by the trainer beside every model it
saves).  It also holds the query-confidence threshold
once :mod:`soundsift.confidence` has been calibrated for the model.  Torch-free, so both engines
and the app read it.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from soundsift.errors import CheckpointError
from soundsift.publishing import write_text_atomic

VOCABULARY_FILE = "vocabulary.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SoundClass:
    """One class: its label, its category (music, speech, sfx, ...) and the phrasings it was queried by."""

    label: str
    category: str
    phrases: tuple[str, ...]

    def matches(self, search: str) -> bool:
        """True when ``search`` (case-insensitive) occurs in the label, the category or a phrase."""
        needle = search.strip().lower()
        return any(needle in text.lower() for text in (self.label, self.category, *self.phrases))


@dataclass(frozen=True)
class Corpus:
    """One training corpus in the summary: how many classes, how many hours, where the audio came from."""

    name: str
    classes: int
    train_hours: float
    sources: str


@dataclass(frozen=True)
class Vocabulary:
    """A model's classes and training-data summary; ``threshold`` is the calibrated confidence cut (or None)."""

    classes: tuple[SoundClass, ...]
    corpora: tuple[Corpus, ...] = ()
    summary: str = ""
    threshold: float | None = None
    calibration: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def phrases(self) -> list[tuple[str, str]]:
        """Every ``(phrase, label)`` pair, the label itself first for each class, without repeats."""
        pairs: dict[str, str] = {}
        for cls in self.classes:
            for text in (cls.label, *cls.phrases):
                pairs.setdefault(text, cls.label)
        return list(pairs.items())

    def knows(self, label: str) -> bool:
        """True when ``label`` is one of the model's classes (exact label spelling, e.g. "dog barking")."""
        return any(cls.label == label for cls in self.classes)

    def search(self, text: str = "") -> list[SoundClass]:
        """The classes whose label, category or phrasings contain ``text`` (all of them for an empty text)."""
        return [cls for cls in self.classes if cls.matches(text)]

    def with_threshold(self, threshold: float, calibration: Mapping[str, Any]) -> Vocabulary:
        """A copy carrying a calibrated confidence threshold and the record of how it was found."""
        return replace(self, threshold=float(threshold), calibration=dict(calibration))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to ``vocabulary.json``."""
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "training_data": {"summary": self.summary, "corpora": [vars(c) for c in self.corpora]},
            "classes": [{"label": c.label, "category": c.category, "phrases": list(c.phrases)} for c in self.classes],
        }
        if self.threshold is not None:
            data["confidence"] = {"threshold": self.threshold, **self.calibration}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = VOCABULARY_FILE) -> Vocabulary:
        """Parse the JSON form; a malformed file is a :class:`CheckpointError` naming ``where``."""
        try:
            classes = tuple(SoundClass(str(c["label"]), str(c.get("category", "")), tuple(map(str, c["phrases"])))
                            for c in data["classes"])
            training = data.get("training_data", {})
            corpora = tuple(Corpus(str(c["name"]), int(c["classes"]), float(c["train_hours"]), str(c["sources"]))
                            for c in training.get("corpora", []))
            confidence = dict(data.get("confidence", {}))
            threshold = confidence.pop("threshold", None)
            threshold = None if threshold is None else float(threshold)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"{where}: not a valid vocabulary file ({exc!r})") from None
        if not classes or (threshold is not None and not math.isfinite(threshold)):
            raise CheckpointError(f"{where}: not a valid vocabulary file (no classes, or a non-finite threshold)")
        return cls(classes, corpora, str(training.get("summary", "")), threshold, confidence)


def read_vocabulary(model_dir: str | Path) -> Vocabulary | None:
    """The vocabulary of a model directory, or None when it carries none (older or user models)."""
    path = Path(model_dir) / VOCABULARY_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read the vocabulary ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a valid vocabulary file (expected a JSON object)")
    return Vocabulary.from_dict(data, str(path))


def write_vocabulary(model_dir: str | Path, vocabulary: Vocabulary) -> Path:
    """Write ``vocabulary.json`` into ``model_dir`` atomically (temp file + rename)."""
    path = Path(model_dir) / VOCABULARY_FILE
    return write_text_atomic(path, json.dumps(vocabulary.to_dict(), indent=2, ensure_ascii=False) + "\n")


def describe(vocabulary: Vocabulary | None, classes: Sequence[SoundClass] | None = None) -> list[str]:
    """Lines for ``models info`` and ``soundsift vocabulary``: the summary, the corpora and the classes."""
    if vocabulary is None:
        return ["vocabulary: none recorded (this model directory has no vocabulary.json)"]
    lines = [f"trained on: {vocabulary.summary}"] if vocabulary.summary else []
    if vocabulary.threshold is not None:
        lines.append(f"query confidence threshold: {vocabulary.threshold:g} (queries scoring below it are warned about)")
    for corpus in vocabulary.corpora:
        lines.append(f"  {corpus.name}: {corpus.classes} classes, {corpus.train_hours:g} h ({corpus.sources})")
    shown = vocabulary.classes if classes is None else classes
    lines.append(f"sounds ({len(shown)} of {len(vocabulary.classes)}):")
    width = max((len(c.label) for c in shown), default=0)
    lines += [(f"  {c.label:<{width}}  [{c.category}]  " + "; ".join(c.phrases)).rstrip() for c in shown]
    return lines
