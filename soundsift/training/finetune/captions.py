"""Captions for a library's files, from the source the user picks (docs/finetuning.md).

Sources, in the order of preference ``best`` follows per file:

- ``manifest``: a CSV or JSONL file (columns/keys ``path`` and ``caption``) naming files
  relative to the library folder (or the manifest's folder, or absolute);
- ``sidecar``: a ``.txt`` beside the file (``song.txt`` or ``song.wav.txt``);
- ``tags``: embedded tags (comment or title, with the genre), read with mutagen when it is
  installed and with libsndfile's string tags otherwise;
- ``filenames``: the file name (or, when it has no known word, its folder's), cleaned of
  numbers, codes, take/version marks and separators, with words naming a class mapped to
  its label (:mod:`.name_words`);
- ``auto``: zero-shot tags from the compact CLAP against a vocabulary (see :mod:`.autotag`).

``best`` uses, for each file, the first of sidecar, tags and file name that gives a caption.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile

from soundsift.durable import write_text
from soundsift.errors import SoundsiftError
from soundsift.training.finetune.library import Library, LibraryFile
from soundsift.training.finetune.name_words import NameWords, load_name_words

SOURCES = ("best", "sidecar", "tags", "filenames", "auto")
MANIFEST_SUFFIXES = (".csv", ".jsonl")
MAX_CAPTION = 200


@dataclass(frozen=True)
class CaptionRow:
    """One file's caption and where it came from (``source`` is one of :data:`SOURCES` or 'manifest')."""

    relative: str
    caption: str
    source: str


@dataclass(frozen=True)
class CaptionTable:
    """Captions of the library's files, and the files left out (with why)."""

    rows: tuple[CaptionRow, ...]
    missing: tuple[tuple[str, str], ...] = ()

    @property
    def captions(self) -> list[str]:
        """The distinct captions, in table order."""
        return list(dict.fromkeys(r.caption for r in self.rows))


def default_name_words() -> NameWords:
    """Name cleaning with the bundled default model's classes (a base model's own come from :func:`name_words_for`)."""
    from soundsift.core.store import DEFAULT_MODEL

    return name_words_for(DEFAULT_MODEL)


def name_words_for(model: str) -> NameWords:
    """Name cleaning that maps file names to the classes in ``model``'s vocabulary (none when it records none)."""
    from soundsift.core.store import resolve_model
    from soundsift.vocabulary import read_vocabulary

    try:
        vocabulary = read_vocabulary(resolve_model(model))
    except SoundsiftError:
        vocabulary = None
    return load_name_words(vocabulary)


def clean_words(text: str, names: NameWords | None = None) -> list[str]:
    """Words of a file or folder name that may describe a sound: 'KickDrum_01-final' -> ['kick', 'drum']."""
    return (names or load_name_words()).words(text)


def caption_from_name(relative: str, names: NameWords | None = None) -> str:
    """The cleaned file name mapped to class labels where they match, or a folder's when the name has no known word."""
    return (names or default_name_words()).caption(relative)


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:MAX_CAPTION].strip()


def caption_from_sidecar(file: LibraryFile) -> str:
    """Text of ``name.txt`` or ``name.ext.txt`` beside the file (empty when there is none)."""
    for candidate in (file.path.with_suffix(".txt"), file.path.with_name(file.path.name + ".txt")):
        if candidate.is_file():
            try:
                return _tidy(candidate.read_text(encoding="utf-8", errors="replace"))
            except OSError as exc:
                raise SoundsiftError(f"{candidate}: cannot read the sidecar caption ({exc})") from None
    return ""


def read_tags(path: Path) -> dict[str, str]:
    """Embedded 'title', 'genre' and 'comment' tags (lower-case keys; absent ones left out)."""
    try:
        import mutagen
    except ImportError:
        return _sndfile_tags(path)
    try:
        tagged = mutagen.File(str(path), easy=True)
    except Exception:  # noqa: BLE001 - mutagen raises many types for odd files; fall back to libsndfile
        tagged = None
    found: dict[str, str] = {}
    if tagged is not None and tagged.tags is not None:
        for key in ("title", "genre", "comment", "description"):
            try:
                values = tagged.tags.get(key) or []
            except (KeyError, ValueError):
                values = []
            text = _tidy(" ".join(str(v) for v in values)) if isinstance(values, list) else _tidy(str(values))
            if text:
                found["comment" if key == "description" else key] = text
    return found or _sndfile_tags(path)


def _sndfile_tags(path: Path) -> dict[str, str]:
    try:
        with soundfile.SoundFile(str(path)) as f:
            return {k: _tidy(getattr(f, k) or "") for k in ("title", "genre", "comment") if _tidy(getattr(f, k) or "")}
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        return {}


def caption_from_tags(file: LibraryFile) -> str:
    """Comment (or else title) tag, with the genre in parentheses when it adds something."""
    tags = read_tags(file.path)
    text = tags.get("comment") or tags.get("title") or ""
    genre = tags.get("genre", "")
    if genre and genre.lower() not in text.lower():
        text = f"{text} ({genre})" if text else genre
    return _tidy(text)


def read_manifest_captions(manifest: Path, library: Library) -> dict[str, str]:
    """``relative path -> caption`` from a CSV or JSONL manifest; unknown files are an error naming them."""
    if not manifest.is_file():
        raise SoundsiftError(f"{manifest}: no such caption manifest")
    records = _manifest_records(manifest)
    known = {f.path.resolve(): f.relative for f in library.files}
    captions: dict[str, str] = {}
    unknown: list[str] = []
    for line, path_text, caption in records:
        candidates = [Path(path_text).expanduser()] if Path(path_text).is_absolute() else \
            [library.root / path_text, manifest.parent / path_text]
        match = next((known[c.resolve()] for c in candidates if c.resolve() in known), None)
        if match is None:
            unknown.append(f"line {line}: {path_text}")
        elif _tidy(caption):
            captions[match] = _tidy(caption)
    if unknown:
        shown = "; ".join(unknown[:3]) + (f"; and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        raise SoundsiftError(f"{manifest}: names files that are not decodable audio in {library.root} ({shown})")
    return captions


def _manifest_records(manifest: Path) -> list[tuple[int, str, str]]:
    """(line number, path, caption) of every record of a manifest."""
    text = manifest.read_text(encoding="utf-8-sig", errors="replace")
    if manifest.suffix.lower() == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SoundsiftError(f"{manifest}: line {number} is not JSON ({exc.msg})") from None
                if not isinstance(item, dict) or not isinstance(item.get("path"), str) \
                        or not isinstance(item.get("caption"), str):
                    raise SoundsiftError(f"{manifest}: line {number} needs string 'path' and 'caption' keys")
                records.append((number, item["path"], item["caption"]))
        return records
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "path" not in fields or "caption" not in fields:
        raise SoundsiftError(f"{manifest}: the CSV header must have 'path' and 'caption' columns, got {fields}")
    rows = []
    for number, row in enumerate(reader, 2):
        lower = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
        rows.append((number, lower["path"].strip(), lower["caption"]))
    return rows


def is_manifest(source: str) -> bool:
    """True when a ``--captions`` value names a manifest file rather than a source."""
    return Path(source).suffix.lower() in MANIFEST_SUFFIXES


def build_caption_table(
    library: Library, source: str = "best", auto_tagger: Callable[[Sequence[LibraryFile]], list[str]] | None = None,
    names: NameWords | None = None,
) -> CaptionTable:
    """Caption every file of ``library`` by ``source`` (a name in :data:`SOURCES` or a manifest path).

    ``names`` cleans file names (default: mapped to the bundled default model's classes).
    """
    if is_manifest(source):
        table = read_manifest_captions(Path(source).expanduser(), library)
        return _table(library, lambda f: (table.get(f.relative, ""), "manifest"), "not in the manifest")
    if source == "auto":
        if auto_tagger is None:
            from soundsift.training.finetune.autotag import AutoTagger

            auto_tagger = AutoTagger().caption_files
        captions = dict(zip((f.relative for f in library.files), auto_tagger(library.files)))
        return _table(library, lambda f: (captions[f.relative], "auto"), "no vocabulary entry scored high enough")
    names = names or default_name_words()
    readers: dict[str, Callable[[LibraryFile], str]] = {
        "sidecar": caption_from_sidecar, "tags": caption_from_tags,
        "filenames": lambda f: caption_from_name(f.relative, names),
    }
    if source == "best":
        def first(file: LibraryFile) -> tuple[str, str]:
            for name, reader in readers.items():
                text = reader(file)
                if text:
                    return text, name
            return "", ""

        return _table(library, first, "no sidecar, tags or descriptive file name")
    if source not in readers:
        raise SoundsiftError(f"unknown caption source '{source}'; use one of {', '.join(SOURCES)} or a .csv/.jsonl manifest")
    reader = readers[source]
    why = {"sidecar": "no sidecar .txt", "tags": "no title, genre or comment tag",
           "filenames": "the file and folder names hold no descriptive words"}[source]
    return _table(library, lambda f: (reader(f), source), why)


def _table(library: Library, caption: Callable[[LibraryFile], tuple[str, str]], why: str) -> CaptionTable:
    rows: list[CaptionRow] = []
    missing: list[tuple[str, str]] = []
    for file in library.files:
        text, source = caption(file)
        if text:
            rows.append(CaptionRow(file.relative, text, source))
        else:
            missing.append((file.relative, why))
    return CaptionTable(tuple(rows), tuple(missing))


def drop_unusable(table: CaptionTable, library: Library) -> tuple[CaptionTable, list[tuple[str, str]]]:
    """``table`` without the rows whose files are gone from ``library`` or no longer decode, and those rows (with why)."""
    usable = {f.relative for f in library.files}
    why = dict(library.skipped)
    dropped = [(r.relative, why.get(r.relative, "no longer in the library")) for r in table.rows
               if r.relative not in usable]
    rows = tuple(r for r in table.rows if r.relative in usable)
    return CaptionTable(rows, table.missing + tuple(dropped)), dropped


def format_caption_table(table: CaptionTable, limit: int | None = None) -> str:
    """The table as aligned text: file, caption, and where the caption came from."""
    rows = list(table.rows[:limit] if limit else table.rows)
    width = min(48, max([len("file")] + [len(r.relative) for r in rows]))
    lines = [f"{'file':<{width}}  {'from':<9}  caption", "-" * (width + 30)]
    for row in rows:
        name = row.relative if len(row.relative) <= width else "…" + row.relative[-(width - 1):]
        lines.append(f"{name:<{width}}  {row.source:<9}  {row.caption}")
    if limit and len(table.rows) > limit:
        lines.append(f"... and {len(table.rows) - limit} more")
    for relative, why in table.missing:
        lines.append(f"{relative:<{width}}  {'(left out)':<9}  {why}")
    return "\n".join(lines)


def write_caption_table(table: CaptionTable, path: Path) -> Path:
    """Save the table as CSV (path, caption, source) atomically; it doubles as a manifest for ``--captions``."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["path", "caption", "source"])
    writer.writerows((r.relative, r.caption, r.source) for r in table.rows)
    return write_text(path, text.getvalue())


def read_caption_table(path: Path) -> CaptionTable:
    """Inverse of :func:`write_caption_table`."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [CaptionRow(r["path"], r["caption"], r["source"]) for r in csv.DictReader(fh)]
    return CaptionTable(tuple(rows))
