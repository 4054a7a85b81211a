"""Reads ``sfx_table.tsv``: the reviewed mapping from files in Debian game-data packages to classes and captions.

Every file the sfx recipe reads is listed there by hand, with its class, a caption for the
clip, the recording it comes from, and its licence: nothing is guessed from names at run
time.  Paths are relative to each package's data root (see ``PACKAGES`` in ``sfx.py``).

``recording`` groups files that share source material (takes cut from one session, or
versions of one ambience, e.g. ``wind_11`` and ``snowstorm_11`` are the same 167.62 s
recording processed twice); splits never put one recording on both sides.  Licences are
those of ``/usr/share/doc/<package>/copyright`` (0ad-data: CC-BY-SA-3.0 for all its data;
supertuxkart-data: per file, GPL-3.0-or-later where no file entry overrides ``Files: *``).

Reviewed against spectrograms and the packages' folder structure.  Left out on purpose:
music, interface sounds, weapon impacts, voice lines (speech), byte-identical duplicates
(``pig_12``, ``death_horse_*``, ``hstep_dirt_MN_13``, the second steam locomotive copy,
``singlesteps``), mixed ambiences (``amb_farm``, ``amb_port``) and sci-fi sounds.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from soundsift.errors import SoundsiftError

TABLE = Path(__file__).with_name("sfx_table.tsv")


class SourceFile(NamedTuple):
    """One row of the table."""

    package: str
    path: str
    label: str
    caption: str
    recording: str
    licence: str


def read_table(path: Path) -> tuple[SourceFile, ...]:
    """The rows of a tab-separated table whose header names :class:`SourceFile`'s fields in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != SourceFile._fields:
        raise SoundsiftError(f"{path}: the first line must be the header {'<TAB>'.join(SourceFile._fields)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(SourceFile._fields) or not all(f.strip() for f in fields):
            raise SoundsiftError(f"{path}:{number}: expected {len(SourceFile._fields)} non-empty tab-separated fields")
        rows.append(SourceFile(*fields))
    return tuple(rows)


ROWS: tuple[SourceFile, ...] = read_table(TABLE)
