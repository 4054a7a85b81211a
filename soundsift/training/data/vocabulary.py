"""How each class is said in words (a noun phrase and a clause), held-in wordings and held-out paraphrases.

The words live in ``vocabulary.toml`` next to this module, so they are written down once and
reviewed there; single-clip captions, composed mixture captions and evaluation queries all
draw on them.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundsift.errors import SoundsiftError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.toml")
CATEGORIES = ("instruments", "speech", "sound_effects")


@dataclass(frozen=True)
class Phrase:
    """``noun``: "a violin"; ``clause``: "a violin plays" (subject + verb, no full stop)."""

    noun: str
    clause: str


@dataclass(frozen=True)
class Paraphrase:
    """A query worded unlike any training caption, and the classes it should find."""

    query: str
    targets: tuple[str, ...]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SoundsiftError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def read_vocabulary(path: Path) -> tuple[dict[str, dict[str, Phrase]], tuple[Paraphrase, ...]]:
    """The class phrases per category and the paraphrases of a vocabulary file; a bad entry is named."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SoundsiftError(f"{path}: cannot read the vocabulary ({exc})") from None
    tables: dict[str, dict[str, Phrase]] = {}
    for category in CATEGORIES:
        entries = doc.get(category)
        if not isinstance(entries, dict) or not entries:
            raise SoundsiftError(f"{path}: no [{category}] table of classes")
        tables[category] = {}
        for label, words in entries.items():
            where = f"{path}: {category}.{label}"
            if not isinstance(words, dict) or set(words) != {"noun", "clause"}:
                raise SoundsiftError(f"{where}: expected {{ noun = ..., clause = ... }}")
            tables[category][label] = Phrase(_text(words["noun"], where), _text(words["clause"], where))
    known = {label for table in tables.values() for label in table}
    paraphrases = []
    for index, item in enumerate(doc.get("paraphrases", [])):
        where = f"{path}: paraphrases[{index}]"
        targets = item.get("targets") if isinstance(item, dict) else None
        if not isinstance(targets, list) or not targets or not set(targets) <= known:
            raise SoundsiftError(f"{where}: targets must be a list of known classes, got {targets!r}")
        paraphrases.append(Paraphrase(_text(item.get("query"), where), tuple(targets)))
    return tables, tuple(paraphrases)


def read_wordings(path: Path) -> tuple[str, ...]:
    """The held-in wording templates (``[wordings] templates``) of a vocabulary file; a bad template is named."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SoundsiftError(f"{path}: cannot read the vocabulary ({exc})") from None
    templates = doc.get("wordings", {}).get("templates", [])
    for index, template in enumerate(templates):
        where = f"{path}: wordings.templates[{index}]"
        try:
            _text(template, where).format(label="", noun="", clause="")
        except (KeyError, IndexError, ValueError):
            raise SoundsiftError(f"{where}: only {{label}}, {{noun}} and {{clause}} may be filled in, got {template!r}") from None
    return tuple(templates)


_TABLES, PARAPHRASES = read_vocabulary(VOCABULARY_FILE)
WORDINGS = read_wordings(VOCABULARY_FILE)
INSTRUMENTS: dict[str, Phrase] = _TABLES["instruments"]
SPEECH: dict[str, Phrase] = _TABLES["speech"]
SOUND_EFFECTS: dict[str, Phrase] = _TABLES["sound_effects"]
VOCABULARY: dict[str, Phrase] = {**INSTRUMENTS, **SPEECH, **SOUND_EFFECTS}


def phrase(label: str) -> Phrase:
    """The phrase for a class; an unknown class is an error, never a guess."""
    try:
        return VOCABULARY[label]
    except KeyError:
        raise SoundsiftError(f"no vocabulary entry for class '{label}'") from None


def class_phrase(label: str, meta: Mapping[str, Any]) -> Phrase:
    """A clip's class words: the vocabulary's, else those its corpus gives in the clip's metadata.

    A corpus whose classes the table lacks (real recordings of new sounds) writes
    ``"noun"`` and ``"clause"`` into each such entry's ``meta``; without them the class
    is an error naming it and what is missing.
    """
    if label in VOCABULARY:
        return VOCABULARY[label]
    if not {"noun", "clause"} <= set(meta):
        raise SoundsiftError(f"no vocabulary entry for class '{label}', and its manifest entries give no "
                             "'noun' and 'clause' in meta (docs/data.md)")
    where = f"class '{label}' (manifest meta)"
    return Phrase(_text(meta["noun"], where), _text(meta["clause"], where))


def query(label: str, words: Phrase | None = None) -> str:
    """The evaluation query of the paper's protocol: "the sound of {noun}" (``words`` by default the vocabulary's)."""
    return f"the sound of {(words or phrase(label)).noun}"


def wordings(label: str, words: Phrase | None = None) -> list[str]:
    """The held-in wordings of a class (:data:`WORDINGS` filled in with ``words``, by default the
    vocabulary's), for training queries only."""
    words = words or phrase(label)
    return [t.format(label=label, noun=words.noun, clause=words.clause) for t in WORDINGS]


def paraphrases_for(labels: Iterable[str]) -> list[Paraphrase]:
    """The paraphrases whose target classes are all among ``labels``."""
    known = set(labels)
    return [p for p in PARAPHRASES if set(p.targets) <= known]
