"""Batch jobs over files and folders: find the inputs, plan where each stem goes, run them.

Shared by the command line and the desktop app, so both name outputs the same way and both
refuse the same unsafe plans (an output path that is an input, two stems with one name).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soundsift.audio import audio_extensions, refuse_overwriting_inputs
from soundsift.errors import AudioError, SoundsiftError
from soundsift.output_folders import holds_outputs
from soundsift.queries import QueryLike, query_name
from soundsift.separation import REST, check_queries

SLUG_BYTES = 100  # file names stay well within the usual 255-byte limit


@dataclass(frozen=True)
class FileJob:
    """One input file and the output path of each stem it will produce."""

    source: Path
    track: str
    outputs: dict[str, Path]


def slugify(query: str) -> str:
    """File-name-safe form of a query: 'A dog barking!' -> 'a-dog-barking'.

    Cut to ``SLUG_BYTES`` bytes of UTF-8, so a long query still makes a valid file name.
    """
    slug = re.sub(r"[^\w]+", "-", query.lower()).strip("-_")
    return slug.encode()[:SLUG_BYTES].decode(errors="ignore").strip("-_")


def expand_inputs(paths: Sequence[str | Path], exclude: Path | None = None) -> list[Path]:
    """Files as given, folders replaced by the audio files inside them (recursively, sorted).

    Files under ``exclude`` (the output folder) when it lies inside the expanded folder, and in
    folders holding an earlier run's outputs (:func:`~soundsift.output_folders.holds_outputs`),
    are skipped when expanding folders.  An output folder that is the input folder (or holds it)
    excludes nothing: its track folders are recognised by their markers.
    """
    extensions = audio_extensions()
    excluded = exclude.resolve() if exclude is not None else None
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            found.append(path)
            continue
        skip = excluded if excluded is not None and path.resolve() in excluded.parents else None
        inside = [
            p for p in sorted(path.rglob("*"))
            if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
            and (skip is None or skip not in p.resolve().parents) and not holds_outputs(p.parent)
        ]
        if not inside:
            raise AudioError(path, "folder contains no audio files")
        found.extend(inside)
    return found


def writes_rest(queries: Sequence[QueryLike], include_rest: bool, mode: str = "extract") -> bool:
    """Whether a run writes ``rest``: when asked, except for one query in remove mode (there it is that output)."""
    return include_rest and not (mode == "remove" and len(queries) == 1)


def stem_filenames(queries: Sequence[QueryLike], include_rest: bool, mode: str = "extract") -> dict[str, str]:
    """Map each stem name (a text, or an audio query's name) to its file stem; refuses names that would collide.

    Remove-mode files are named after what they lack: ``without-rain``.
    """
    prefix = "without-" if mode == "remove" else ""
    names: dict[str, str] = {}
    for i, query in enumerate(check_queries(queries)):
        name = query_name(query)
        names[name] = prefix + (slugify(name) or f"query-{i + 1}")
    seen: dict[str, str] = {}
    for stem, filename in names.items():
        if filename == REST:  # reserved, with or without a rest file, so no query's file passes for the rest
            raise SoundsiftError(f"query '{stem}' would be written as '{REST}', the name of the rest's file; reword it")
        if filename in seen:
            raise SoundsiftError(f"queries '{seen[filename]}' and '{stem}' would both be written as '{filename}'")
        seen[filename] = stem
    if writes_rest(queries, include_rest, mode):
        names[REST] = REST
    return names


def plan_jobs(
    inputs: Sequence[Path], queries: Sequence[QueryLike], out_dir: Path, extension: str, include_rest: bool = True,
    mode: str = "extract",
) -> list[FileJob]:
    """Output paths ``out_dir/<track>/<file stem>.<ext>`` for every input (:func:`stem_filenames`); tracks are unique."""
    filenames = stem_filenames(queries, include_rest, mode)
    jobs: list[FileJob] = []
    used: set[str] = set()
    for source in inputs:
        track = source.stem or "track"
        n = 2
        while track in used:
            track = f"{source.stem}-{n}"
            n += 1
        used.add(track)
        outputs = {stem: out_dir / track / f"{name}.{extension}" for stem, name in filenames.items()}
        jobs.append(FileJob(source, track, outputs))
    refuse_overwriting_inputs([p for job in jobs for p in job.outputs.values()], list(inputs))
    return jobs
