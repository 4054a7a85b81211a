"""Reads the sfx data files: which Debian packages hold real recordings, and which of their files are which class.

``sfx_table.tsv`` is the reviewed mapping from files to classes: every file the sfx recipe
reads is listed there by hand, with its class, a caption for the clip, the recording it comes
from, and its licence; nothing is guessed from names at run time.  Paths are relative to the
package's data folder named in ``sfx_packages.tsv``; ``archive!member`` names a file inside a
zip archive there (0 A.D.'s ``public.zip``, OpenArena's ``.pk3``, Warzone 2100's ``.wz``).
The packages held out for test (``real_heldout.tsv``, domain ``sfx``) have all their
recordings in the test split, so test scores measure recording chains training never heard.

``recording`` groups files that share source material (takes cut from one session, numbered
takes of one series, or versions of one ambience, e.g. ``wind_11`` and ``snowstorm_11`` are the
same 167.62 s recording processed twice); splits never put one recording on both sides.
Licences are those of ``usr/share/doc/<package>/copyright`` in the package, per file where
the file has its own entry.  Classes are those of the product vocabulary
(``soundsift/training/data/vocabulary.toml``) or of ``real_classes.toml``.

Labelled from folder and file names and the packages' copyright comments, never guessed:
doubtful files are left out, as are music, interface sounds, voice lines (speech), weapon
impacts and sci-fi sounds, mixed ambiences (``amb_farm``, ``amb_port``), and classes with a
single file (an owl, a fan, a phone, breaking glass).  A class with one recording cut into
several takes (a duck, seagulls) is kept and split by take.  Surface-specific footsteps are
classes of their own whose clips also carry ``footsteps`` (``[parents]`` of ``real_classes.toml``).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from research.data.realspeech_table import read_rows
from soundsift.errors import SoundsiftError
from soundsift.training.data.vocabulary import VOCABULARY, Phrase

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).parent
TABLE = HERE / "sfx_table.tsv"
PACKAGES_TABLE = HERE / "sfx_packages.tsv"
CLASSES_FILE = HERE / "real_classes.toml"
PARENTS = "parents"  # the table of real_classes.toml naming each class's broader class


class SourceFile(NamedTuple):
    """One row of the table."""

    package: str
    path: str
    label: str
    caption: str
    recording: str
    licence: str


class Package(NamedTuple):
    """One row of ``sfx_packages.tsv``: where in its unpacked tree a package keeps its sounds."""

    package: str
    root: str


def read_table(path: Path) -> tuple[SourceFile, ...]:
    """The rows of a file table (:class:`SourceFile` fields)."""
    return read_rows(path, SourceFile)


def read_packages(path: Path) -> dict[str, Package]:
    """The packages table by package name."""
    return {row.package: row for row in read_rows(path, Package)}


def _read_classes(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SoundsiftError(f"{path}: cannot read the class words ({exc})") from None


def class_words(path: Path = CLASSES_FILE) -> dict[str, Phrase]:
    """The words of every class a real-corpus table may name: the product vocabulary's and those of ``path``."""
    tables = _read_classes(path)
    words = dict(VOCABULARY)
    for category, entries in tables.items():
        if category == PARENTS:
            continue
        for label, phrase in entries.items():
            if not isinstance(phrase, dict) or set(phrase) != {"noun", "clause"}:
                raise SoundsiftError(f"{path}: {category}.{label}: expected {{ noun = ..., clause = ... }}")
            words[label] = Phrase(phrase["noun"], phrase["clause"])
    return words


def class_meta(label: str, words: dict[str, Phrase]) -> dict[str, str]:
    """A manifest entry's ``meta`` for ``label``: its noun and clause when the product vocabulary lacks it
    (training reads them there, :func:`soundsift.training.data.vocabulary.class_phrase`), else nothing."""
    if label in VOCABULARY:
        return {}
    if label not in words:
        raise SoundsiftError(f"class '{label}' has no words in {CLASSES_FILE.name} or the vocabulary")
    return {"noun": words[label].noun, "clause": words[label].clause}


def class_parents(path: Path = CLASSES_FILE) -> dict[str, str]:
    """The broader class each class is part of (``[parents]`` of ``path``): a kick drum is also drums."""
    return dict(_read_classes(path).get(PARENTS, {}))


def class_labels(label: str, parents: dict[str, str]) -> tuple[str, ...]:
    """A clip's labels: its class, then its broader class if any, so a mixture never pairs the two."""
    return (label, parents[label]) if label in parents else (label,)


ROWS: tuple[SourceFile, ...] = read_table(TABLE)
PACKAGES: dict[str, Package] = read_packages(PACKAGES_TABLE)
