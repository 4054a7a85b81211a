"""What a run leaves in a track folder, so that later runs neither mix with it nor separate it again.

Each run writes a small marker, ``.soundsift.json``, beside its stems, listing the files it
wrote.  A later run into the same folder is refused unless asked to overwrite, and then the
earlier run's files give way to the new run's as a whole once the new run has succeeded;
folder inputs skip folders that hold a marker.  Shared by the command line and the app.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from soundsift.audio import refuse_overwriting_inputs
from soundsift.errors import SoundsiftError
from soundsift.publishing import write_text_atomic

MARKER = ".soundsift.json"
MARKER_FORMAT = 1


def holds_outputs(folder: Path) -> bool:
    """Whether ``folder`` holds the outputs of a soundsift run (it has a marker)."""
    return (folder / MARKER).is_file()


def _listed(folder: Path) -> list[Path]:
    """The files the folder's marker says a run wrote there (plain names only; none when unreadable)."""
    try:
        names = json.loads((folder / MARKER).read_text(encoding="utf-8")).get("outputs", [])
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(names, list):
        return []
    return [folder / n for n in names if isinstance(n, str) and n and Path(n).name == n and n not in (".", "..")]


def earlier_outputs(outputs: Iterable[Path]) -> list[Path]:
    """Files earlier runs left where these outputs go: what the folders' markers list, the markers, and
    any file at an output path.  The app calls this to ask before overwriting; empty when nothing is in the way."""
    paths = [Path(p) for p in outputs]
    found: set[Path] = set()
    for folder in {p.parent for p in paths}:
        if holds_outputs(folder):
            found.add(folder / MARKER)
            found.update(p for p in _listed(folder) if p.is_file())
    found.update(p for p in paths if p.exists())
    return sorted(found)


def refuse_earlier_outputs(runs: Sequence[Iterable[Path]], overwrite: bool) -> None:
    """Raise, naming the first folder, if any run's outputs would land beside an earlier run's, unless ``overwrite``."""
    if overwrite:
        return
    taken = [files for files in (earlier_outputs(outputs) for outputs in runs) if files]
    if taken:
        names = ", ".join(p.name for p in taken[0] if p.name != MARKER)
        more = f" (and {len(taken) - 1} more folders)" if len(taken) > 1 else ""
        raise SoundsiftError(f"{taken[0][0].parent} already holds the outputs of an earlier run ({names}){more}; "
                             "pass --overwrite to replace them, or choose another output folder")


def refuse_existing_file(path: Path, overwrite: bool, inputs: Sequence[Path] = ()) -> None:
    """Raise if ``path`` is one of ``inputs`` (never overwritten), or exists and ``overwrite`` is off."""
    refuse_overwriting_inputs([path], inputs)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise SoundsiftError(f"{path} already exists; pass --overwrite to replace it, or choose another output file")


def record_run(written: Sequence[Path], source: Path) -> None:
    """After a run succeeded: remove the files an earlier run listed that this run did not rewrite, and
    write the marker listing this run's files (atomically, through a temporary file)."""
    folder = written[0].parent
    names = [p.name for p in written]
    for old in _listed(folder):
        if old.name not in names and old.is_file():
            old.unlink()
    record = {"format": MARKER_FORMAT, "source": source.name, "outputs": names}
    write_text_atomic(folder / MARKER, json.dumps(record, indent=1))  # the outputs' mode; a temp name sweeps know
