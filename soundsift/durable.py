"""Writes that survive a power loss: files and folders are flushed to the disk before the rename that publishes them.

A rename is atomic, but without ``fsync`` the file system may commit the rename before the data, so
a crash can leave a published name pointing at empty or partial content.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def umask_mode(base: int) -> int:
    """``base`` (0o666 for files, 0o777 for folders) less the process umask: the mode a plain create gives.

    Read once at import by its callers: asking changes the umask for a moment, process-wide.
    """
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


FOLDER_MODE = umask_mode(0o777)


def fsync_path(path: Path) -> None:
    """Flush one file, or a folder's entries (names), to the disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():  # some platforms cannot open folders; their renames are committed with the data
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` (and ``root`` itself), deepest first."""
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def publish(staging: Path, target: Path) -> None:
    """Flush ``staging`` (a file or folder), rename it to ``target`` and flush the folder holding the new name."""
    fsync_tree(staging) if staging.is_dir() else fsync_path(staging)
    os.replace(staging, target)
    fsync_path(target.parent)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and durably (through a hidden temporary file beside it)."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8", newline="")
    publish(tmp, path)
    return path


def replace_folder(staging: Path, directory: Path) -> None:
    """Publish the finished folder ``staging`` as ``directory``, durably; an old ``directory`` is kept (as
    ``.NAME.old``) until the new one is in place, so a crash leaves one whole folder or the other."""
    fsync_tree(staging)
    if not directory.exists():
        os.replace(staging, directory)
        fsync_path(directory.parent)
        return
    old = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(directory, old)
    os.replace(staging, directory)
    fsync_path(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_folder(directory: Path) -> Iterator[Path]:
    """A new hidden folder beside ``directory`` to write into; published as ``directory`` (:func:`replace_folder`)
    when the block ends, removed when it raises, so readers see the old folder or the whole new one."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        os.chmod(staging, FOLDER_MODE)  # mkdtemp makes 0700 folders; a model folder gets the usual mode
        yield staging
        replace_folder(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
