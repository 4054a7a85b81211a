"""Temporary files beside outputs, and publishing several of them all or nothing.

Outputs are written under a hidden temporary name in their own folder and renamed into place
when finished.  The name carries the writing process's id, so a later run can tell the
leftovers of a killed run (its process is gone) from files another run is still writing,
and removes only those.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from soundsift.durable import fsync_path, umask_mode
from soundsift.errors import AudioError, os_problem

TEMP_SUFFIX = ".part"
# .<output stem>.<pid>.<8 random characters from tempfile>.part
_TEMP_NAME = re.compile(r"^\..*\.(\d{1,10})\.[a-z0-9_]{8}\.part$")
_SWEPT: set[str] = set()  # folders already looked through for stale temporary files
_TEMP_STEM_CHARS = 100  # keeps temporary names within file-name limits when the output's name is long
_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # what tempfile puts in its names


_CREATE_MODE = umask_mode(0o666)  # what a plain open() gives a new file

Moves = Sequence[tuple[Path, Path]]
Done = list[tuple[Path, "Path | None"]]  # each destination renamed so far, and its earlier file kept aside (or None)
Journal = Callable[[Moves, Done], AbstractContextManager[None]]
# Wraps the renames of publish_files in this thread: entered before the first, left after the last (or on failure).
_JOURNAL: contextvars.ContextVar[Journal | None] = contextvars.ContextVar(
    "soundsift_publish_journal", default=None)


def _temp_prefix(path: Path) -> str:
    """The start of a temporary name for ``path``: its stem (cut short) and this process's id."""
    return f".{path.stem[:_TEMP_STEM_CHARS]}.{os.getpid()}."


def make_temp_file(path: Path) -> Path:
    """Create an empty temporary file beside ``path`` (which it will become), with the usual file mode."""
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _CREATE_MODE)  # mkstemp makes 0600 files; outputs get the usual umask mode
    return Path(tmp)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (its folder made if needed) through a temporary file, so it appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_file(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files a killed soundsift run left in ``folder``; returns what was removed.

    Only names of our own pattern whose process no longer runs are touched.  Each folder is
    looked through once per process (an ended process leaves no new files), so writing many
    files into one folder stays cheap.
    """
    key = os.path.abspath(folder)
    if key in _SWEPT:
        return []
    _SWEPT.add(key)
    removed = []
    for entry in folder.iterdir():
        match = _TEMP_NAME.match(entry.name)
        if match and not _process_alive(int(match.group(1))) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def written_by_another_running_process(name: str) -> bool:
    """Whether ``name`` is one of our temporary names whose writer is another process, still running."""
    match = _TEMP_NAME.match(name)
    return bool(match) and int(match.group(1)) != os.getpid() and _process_alive(int(match.group(1)))


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (always True where that cannot be asked safely)."""
    if os.name != "posix" or pid == os.getpid():
        return True  # on Windows os.kill would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def journaled(journal: Journal) -> Iterator[None]:
    """Have every :func:`publish_files` in this thread run its renames inside ``journal(moves, done)``.

    The journal records what is about to change before anything is renamed, so that a run killed
    part way can be completed by the next one, and on failure undoes ``done`` itself (see
    :mod:`soundsift.output_folders`); without one, :func:`undo` does.
    """
    token = _JOURNAL.set(journal)
    try:
        yield
    finally:
        _JOURNAL.reset(token)


def publish_files(moves: Moves) -> None:
    """Rename each finished ``(temporary, destination)`` pair into place, all or nothing, inside the
    thread's journal when one is set (:func:`journaled`).

    An earlier file at a destination is kept aside until every rename succeeded; if one
    fails, the destinations already renamed get their earlier files back (or are removed)
    before the error (an :class:`AudioError` naming the destination) propagates.  The folders
    are flushed to the disk before the journal hears of success.
    """
    done: Done = []
    with (_JOURNAL.get() or _undone_on_failure)(moves, done):
        _rename_all(moves, done)
    for _, backup in done:  # after the journal is done: a failure here leaves a stale temporary file, never a mix
        if backup is not None:
            backup.unlink(missing_ok=True)


@contextlib.contextmanager
def _undone_on_failure(moves: Moves, done: Done) -> Iterator[None]:
    """Publishing without a journal: a failure undoes the renames done so far at once."""
    try:
        yield
    except BaseException:
        undo(done)
        raise


def undo(done: Done) -> None:
    """Put each destination in ``done`` back as it was: its earlier file, or nothing."""
    for dest, backup in reversed(done):
        _restore(dest, backup)


def _rename_all(moves: Moves, done: Done) -> None:
    """The renames of :func:`publish_files`, each noted in ``done`` before it happens (undoing covers it)."""
    for tmp, dest in moves:
        try:
            done.append((dest, _set_aside(dest)))
            os.replace(tmp, dest)
        except OSError as exc:
            raise AudioError(dest, os_problem(exc)) from None
    for folder in {dest.parent for _, dest in moves}:
        fsync_path(folder)


def _set_aside(dest: Path) -> Path | None:
    """Keep the file now at ``dest`` under a temporary name so it can be restored (None: nothing there).

    A hard link leaves ``dest`` in place meanwhile; where links are not supported it is renamed.
    """
    if not os.path.lexists(dest) or dest.is_dir():
        return None  # a folder in the way fails the rename with its own error
    backup = dest.parent / f"{_temp_prefix(dest)}{''.join(random.choices(_TEMP_CHARS, k=8))}{TEMP_SUFFIX}"
    try:
        os.link(dest, backup, follow_symlinks=False)
    except OSError:
        os.replace(dest, backup)
    return backup


def _restore(dest: Path, backup: Path | None) -> None:
    """Undo one rename: the earlier file goes back to ``dest``, or ``dest`` is removed when there was none."""
    with contextlib.suppress(OSError):
        if backup is None:
            dest.unlink(missing_ok=True)
        else:
            os.replace(backup, dest)
