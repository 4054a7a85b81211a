"""Exceptions shared by the engine and its shells; shells turn them into one-line messages."""
from __future__ import annotations

import errno
from pathlib import Path

# What an OS error means for the file it names, in the words an error message uses.
_OS_PROBLEMS: dict[int, str] = {
    errno.ENOENT: "no such file",
    errno.ELOOP: "symlink loop",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a folder on the path is a file",
    errno.EEXIST: "a folder on the path is a file",
    errno.EISDIR: "is a folder",
}


class SoundsiftError(Exception):
    """Base class for every error soundsift raises on purpose."""


class AudioError(SoundsiftError):
    """An input could not be decoded, or an output could not be written."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class CheckpointError(SoundsiftError):
    """A model directory is missing, malformed, or unsafe to load."""


class NoDefaultModelError(CheckpointError):
    """No model was named and no default model is installed."""


class SeparationCancelled(SoundsiftError):
    """Raised by the engine when the caller's cancel check asks it to stop."""


class InvalidArgumentError(SoundsiftError, ValueError):
    """A caller passed a value soundsift cannot work with (bad query, mode, device, ...)."""


class PresetError(SoundsiftError):
    """A chain preset is missing, malformed, or names a plugin or parameter that cannot be loaded."""


def os_problem(exc: OSError) -> str:
    """The problem an OS error describes, in a few words ("disk full", "symlink loop", ...)."""
    return _OS_PROBLEMS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
