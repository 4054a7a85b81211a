"""What a run leaves in a track folder, so that later runs neither mix with it nor separate it again.

Each run writes a small marker, ``.soundsift.json``, beside its stems, listing the files it
wrote.  A later run into the same folder is refused unless asked to overwrite, and then the
earlier run's files give way to the new run's as a whole once the new run has succeeded;
folder inputs skip folders that hold a marker.  Shared by the command line and the app.

Replacing is journaled so that a kill at any moment leaves the earlier run or the new one:
right before the new stems are renamed into place, the marker is rewritten to list the new
files together with the renames still to do and the earlier files to remove ("replacing");
it loses that part once the earlier files are gone.  A run that finds a marker still
"replacing" (:func:`settle`) finishes the job before doing anything else in the folder.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from soundsift.audio import refuse_overwriting_inputs
from soundsift.durable import fsync_path
from soundsift.errors import SoundsiftError, os_problem
from soundsift.publishing import Done, Moves, journaled, write_text_atomic, written_by_another_running_process

MARKER = ".soundsift.json"
MARKER_FORMAT = 1
_BUSY: set[str] = set()  # folders this process is replacing runs in right now


def holds_outputs(folder: Path) -> bool:
    """Whether ``folder`` holds the outputs of a soundsift run (it has a marker)."""
    return (folder / MARKER).is_file()


def _read_marker(folder: Path) -> dict:
    """The folder's marker as a dict (empty when missing or unreadable)."""
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _plain_names(names: object) -> list[str]:
    """The plain file names in a marker's list (no paths, nothing else), so a marker can only name its own folder."""
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and n and Path(n).name == n and n not in (".", "..")]


def _listed(folder: Path) -> list[Path]:
    """The files the folder's marker says a run wrote there (none when unreadable)."""
    return [folder / n for n in _plain_names(_read_marker(folder).get("outputs"))]


def earlier_outputs(outputs: Iterable[Path]) -> list[Path]:
    """Files earlier runs left where these outputs go: what the folders' markers list, the markers, and
    any file at an output path.  The app calls this to ask before overwriting; empty when nothing is in the way."""
    paths = [Path(p) for p in outputs]
    found: set[Path] = set()
    for folder in {p.parent for p in paths}:
        settle(folder)
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
    settle(path.parent)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise SoundsiftError(f"{path} already exists; pass --overwrite to replace it, or choose another output file")


@contextlib.contextmanager
def recording_run(outputs: Iterable[Path], source: Path) -> Iterator[None]:
    """Around a run that writes ``outputs``: its files replace an earlier run's in their folder as a whole.

    Publishing inside the block (this thread) is journaled in the marker, so a failure or a kill
    leaves either the earlier run or this one; an interrupted earlier replacement is finished first.
    """
    for folder in {Path(p).parent for p in outputs}:
        settle(folder)
    with journaled(functools.partial(_replacing, source.name)):
        yield


@contextlib.contextmanager
def _replacing(source: str, moves: Moves, done: Done) -> Iterator[None]:
    """Journal in the marker, then publish ``moves`` (the block), then remove the earlier run's other files.

    A failure is undone through the journal too (the earlier files kept aside go back), so a kill
    while undoing is finished by the next run as well.
    """
    if not moves:
        yield
        return
    folder = moves[0][1].parent
    names = [dest.name for _, dest in moves]
    earlier = [p.name for p in _listed(folder) if p.name not in names]
    before = _read_marker(folder)
    record = {"format": MARKER_FORMAT, "source": source, "outputs": names}
    with _busy(folder):
        _journal(folder, record, [[tmp.name, dest.name] for tmp, dest in moves], earlier)
        try:
            yield
        except BaseException:
            with contextlib.suppress(OSError, SoundsiftError):  # what is not done now, the next run there does
                _journal(folder, before, [[b.name, d.name] for d, b in done if b is not None],
                         [d.name for d, b in done if b is None])
                _complete(folder)
            raise
        _finish(folder, record, earlier)


@contextlib.contextmanager
def _busy(folder: Path) -> Iterator[None]:
    """Mark ``folder`` as being replaced by this process, so that its other threads (the app's) leave it be."""
    key = os.path.abspath(folder)
    _BUSY.add(key)
    try:
        yield
    finally:
        _BUSY.discard(key)


def _journal(folder: Path, record: dict, pending: list[list[str]], earlier: list[str]) -> None:
    """Write the marker as a journal: ``record`` once the ``pending`` renames are done and ``earlier`` removed."""
    write_text_atomic(folder / MARKER, json.dumps({**record, "replacing": {"pending": pending, "earlier": earlier}},
                                                  indent=1))


def settle(folder: Path) -> None:
    """Finish a replacement a killed run left half done in ``folder`` (its marker still says "replacing")."""
    if os.path.abspath(folder) not in _BUSY:
        _complete(folder)


def _complete(folder: Path) -> None:
    """Do what the folder's journal says is left to do, unless another running process is doing it."""
    record = _read_marker(folder)
    journal = record.pop("replacing", None)
    if not isinstance(journal, dict):
        return
    pairs = [pair for pair in map(_plain_names, journal.get("pending", [])) if len(pair) == 2]
    if any(written_by_another_running_process(tmp) for tmp, _ in pairs):
        return  # that run is replacing now and finishes itself
    try:
        for tmp, dest in pairs:
            if (folder / tmp).is_file():
                os.replace(folder / tmp, folder / dest)
        _finish(folder, record, _plain_names(journal.get("earlier")))
    except OSError as exc:
        raise SoundsiftError(f"{folder}: could not finish replacing an earlier run's outputs ({os_problem(exc)})") from None


def _finish(folder: Path, record: dict, earlier: Sequence[str]) -> None:
    """Remove the earlier run's files this run did not rewrite, then write the final marker."""
    keep = set(_plain_names(record.get("outputs")))
    for name in earlier:
        if name not in keep and (folder / name).is_file():
            (folder / name).unlink()
    fsync_path(folder)
    if record:
        write_text_atomic(folder / MARKER, json.dumps(record, indent=1))  # the outputs' mode; a temp name sweeps know
    else:  # undoing a folder's first run: no marker was there
        (folder / MARKER).unlink(missing_ok=True)
