"""The JSONL manifest shared by every data recipe: one line per clip or mixture.

A corpus is a folder holding audio files and ``manifest.jsonl``; paths in the manifest are
relative to that folder so a corpus can be moved or copied whole.  Single-source clips and
mixtures share one schema; a mixture also lists its ground-truth ``stems``.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from soundsift.errors import SoundsiftError
from soundsift.publishing import write_text_atomic

MANIFEST_NAME = "manifest.jsonl"
SPLITS = ("train", "val", "test")
CATEGORIES = ("music", "speech", "sfx", "mixture")


class ManifestError(SoundsiftError):
    """A manifest line is missing a field, has a wrong type, or names a bad value."""


@dataclass(frozen=True)
class Stem:
    """One ground-truth source of a mixture."""

    path: str
    labels: tuple[str, ...]
    caption: str


@dataclass(frozen=True)
class Entry:
    """One manifest line.

    ``labels[0]`` is the clip's class (used for class balance and for keeping the sources of
    a mixture distinct); further labels are broader tags that must also differ between
    sources (``("man speaking", "speech")`` keeps two voices out of one mixture).
    ``group`` names the unit that splits keep apart (a score, a recording, a sentence);
    ``origin`` says exactly which source material the audio was made from.
    """

    path: str
    duration: float
    sample_rate: int
    labels: tuple[str, ...]
    caption: str
    category: str
    split: str
    group: str
    source: str
    licence: str
    origin: tuple[str, ...] = ()
    stems: tuple[Stem, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The clip's class."""
        return self.labels[0]

    def to_json(self) -> str:
        """One JSON line (keys in a fixed order, so equal entries give equal bytes)."""
        data = asdict(self)
        if not self.stems:
            del data["stems"]
        return json.dumps(data, ensure_ascii=False, sort_keys=False)


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "path": str, "duration": (int, float), "sample_rate": int, "labels": list, "caption": str,
    "category": str, "split": str, "group": str, "source": str, "licence": str,
}


def parse_entry(data: object, where: str) -> Entry:
    """Validate one decoded JSON object and build an :class:`Entry`; ``where`` names file and line."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(data).__name__}")
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise ManifestError(f"{where}: missing field '{key}'")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise ManifestError(f"{where}: field '{key}' has type {type(data[key]).__name__}")
    unknown = set(data) - set(_REQUIRED) - {"origin", "stems", "meta"}
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {sorted(unknown)}")
    labels = tuple(data["labels"])
    if not labels or not all(isinstance(x, str) and x for x in labels):
        raise ManifestError(f"{where}: 'labels' must be a non-empty list of strings")
    if not data["caption"].strip():
        raise ManifestError(f"{where}: empty caption")
    if data["split"] not in SPLITS:
        raise ManifestError(f"{where}: split '{data['split']}' is not one of {list(SPLITS)}")
    if data["category"] not in CATEGORIES:
        raise ManifestError(f"{where}: category '{data['category']}' is not one of {list(CATEGORIES)}")
    if data["duration"] <= 0 or data["sample_rate"] <= 0:
        raise ManifestError(f"{where}: duration and sample_rate must be positive")
    if Path(data["path"]).is_absolute() or ".." in Path(data["path"]).parts:
        raise ManifestError(f"{where}: path '{data['path']}' must be relative to the corpus folder")
    stems = tuple(_parse_stem(s, where) for s in data.get("stems", []))
    return Entry(
        path=data["path"], duration=float(data["duration"]), sample_rate=data["sample_rate"], labels=labels,
        caption=data["caption"], category=data["category"], split=data["split"], group=data["group"],
        source=data["source"], licence=data["licence"], origin=tuple(data.get("origin", ())), stems=stems,
        meta=dict(data.get("meta", {})),
    )


def _parse_stem(data: object, where: str) -> Stem:
    if not isinstance(data, dict) or not {"path", "labels", "caption"} <= set(data):
        raise ManifestError(f"{where}: each stem needs 'path', 'labels' and 'caption'")
    return Stem(path=str(data["path"]), labels=tuple(data["labels"]), caption=str(data["caption"]))


def read_manifest(path: str | Path) -> list[Entry]:
    """Read and validate a manifest file (or the ``manifest.jsonl`` inside a corpus folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest (build the corpus first with 'python -m research data ...')")
    entries = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            entries.append(parse_entry(data, f"{path}:{number}"))
    return entries


def write_manifest(path: str | Path, entries: Iterable[Entry]) -> Path:
    """Write entries as JSONL atomically (a crash never leaves a half-written manifest), with a plain file's mode."""
    return write_text_atomic(Path(path), "".join(entry.to_json() + "\n" for entry in entries))


def corpus_root(manifest: str | Path) -> Path:
    """The folder that a manifest's relative paths start from."""
    manifest = Path(manifest)
    return manifest if manifest.is_dir() else manifest.parent


def select(entries: Sequence[Entry], split: str | None = None, category: str | None = None,
           labels: Iterable[str] | None = None) -> list[Entry]:
    """The entries of one split, category and/or set of classes (None keeps all)."""
    wanted = set(labels) if labels is not None else None
    return [
        e for e in entries
        if (split is None or e.split == split) and (category is None or e.category == category)
        and (wanted is None or e.label in wanted)
    ]
