"""The reviewed tables of the real-recording recipes, and the files they name in unpacked Debian packages.

``realspeech_voices.tsv`` lists every voice of the real speech corpus: the package, the files
(glob patterns relative to the unpacked package, ``;``-separated; ``ARCHIVE!pattern`` reaches
into a zip archive such as 0ad's ``public.zip`` or Warzone 2100's ``base.wz``), the gender
class, the language, the licence from the package's copyright file, and what the gender rests
on (the character or file names, or the median pitch, see :mod:`realspeech_pitch`).
``real_heldout.tsv`` names the packages whose recordings only ever go to the test split.
"""
from __future__ import annotations

import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar

from soundsift.errors import SoundsiftError

HERE = Path(__file__).parent
VOICES_TABLE = HERE / "realspeech_voices.tsv"
HELDOUT_TABLE = HERE / "real_heldout.tsv"

Row = TypeVar("Row", bound=tuple)


class Voice(NamedTuple):
    """One row of the voice table."""

    voice: str
    package: str
    files: str
    gender: str
    language: str
    licence: str
    basis: str


class HeldOut(NamedTuple):
    """One row of the held-out table: a package kept for the test split of a domain."""

    domain: str
    package: str
    reason: str


class PackageFile(NamedTuple):
    """A file inside an unpacked package: ``archive`` is "" for a plain file, else the zip holding ``member``."""

    package: str
    archive: str
    member: str

    @property
    def name(self) -> str:
        """How the file is cited: ``package:path`` or ``package:archive!member``."""
        return f"{self.package}:{self.archive}!{self.member}" if self.archive else f"{self.package}:{self.member}"


def read_rows(path: Path, row_type: type[Row]) -> tuple[Row, ...]:
    """The rows of a tab-separated table whose header names ``row_type``'s fields in order."""
    fields = row_type._fields  # type: ignore[attr-defined]
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != fields:
        raise SoundsiftError(f"{path}: the first line must be the header {'<TAB>'.join(fields)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.split("\t")
        if len(values) != len(fields) or not all(v.strip() for v in values):
            raise SoundsiftError(f"{path}:{number}: expected {len(fields)} non-empty tab-separated fields")
        rows.append(row_type(*values))
    return tuple(rows)


def voices(path: Path = VOICES_TABLE) -> tuple[Voice, ...]:
    """The voice table; a voice named twice is an error."""
    rows = read_rows(path, Voice)
    seen: set[str] = set()
    for row in rows:
        if row.voice in seen:
            raise SoundsiftError(f"{path}: voice '{row.voice}' is listed twice")
        seen.add(row.voice)
    return rows


def heldout(domain: str, path: Path = HELDOUT_TABLE) -> frozenset[str]:
    """The packages whose recordings of ``domain`` go to the test split only."""
    return frozenset(row.package for row in read_rows(path, HeldOut) if row.domain == domain)


def _pattern(glob: str) -> re.Pattern[str]:
    """A glob as a regular expression where ``*`` and ``?`` stay within one path component."""
    parts = re.split(r"(\*|\?)", glob)
    return re.compile("".join("[^/]*" if p == "*" else "[^/]" if p == "?" else re.escape(p) for p in parts))


@lru_cache(maxsize=32)
def _archive_names(archive: Path) -> tuple[str, ...]:
    with zipfile.ZipFile(archive) as z:
        return tuple(z.namelist())


def matching_files(package: str, tree: Path, patterns: str) -> list[PackageFile]:
    """The files of an unpacked package that a ``;``-separated list of patterns names, sorted."""
    found: set[PackageFile] = set()
    for pattern in patterns.split(";"):
        archive, sep, inner = pattern.partition("!")
        if sep:
            if not (tree / archive).is_file():
                raise SoundsiftError(f"{package}: no archive {archive} in {tree}")
            regex = _pattern(inner)
            found.update(PackageFile(package, archive, m) for m in _archive_names(tree / archive) if regex.fullmatch(m))
        else:
            found.update(PackageFile(package, "", str(p.relative_to(tree))) for p in tree.glob(pattern) if p.is_file())
    return sorted(found)


def read_bytes(file: PackageFile, tree: Path) -> bytes:
    """The bytes of a package file, from the tree or from inside its archive."""
    try:
        if file.archive:
            with zipfile.ZipFile(tree / file.archive) as z:
                return z.read(file.member)
        return (tree / file.member).read_bytes()
    except (KeyError, OSError) as exc:
        raise SoundsiftError(f"{file.name}: cannot read it from {tree} ({exc})") from None
