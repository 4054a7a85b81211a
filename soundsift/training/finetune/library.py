"""A user's library: the audio files under a folder, found and checked without changing anything.

The library is read-only to soundsift: files are opened for reading only, and nothing is
written inside the folder (run state and models go to soundsift's own folders).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from soundsift.audio import AudioInfo, AudioReader
from soundsift.batch import expand_inputs
from soundsift.errors import AudioError, SoundsiftError


@dataclass(frozen=True)
class LibraryFile:
    """One decodable file of the library; ``relative`` is its path inside the library folder (POSIX)."""

    path: Path
    relative: str
    duration: float
    sample_rate: int


@dataclass(frozen=True)
class Library:
    """The decodable files of a folder, and the files that could not be used (with why)."""

    root: Path
    files: tuple[LibraryFile, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def hours(self) -> float:
        """Total duration of the usable files, in hours."""
        return sum(f.duration for f in self.files) / 3600.0


def scan_library(root: str | Path) -> Library:
    """Every audio file under ``root`` (recursively, sorted) that decodes; unusable ones are listed as skipped.

    Each file is decoded to its end once (in blocks, so memory stays flat): a truncated or corrupt
    file can pass the header check and fail only when its audio is read, and it must not stop a run later.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SoundsiftError(f"{root}: not a folder; point fine-tuning at the folder holding your recordings")
    files: list[LibraryFile] = []
    skipped: list[tuple[str, str]] = []
    for path in expand_inputs([root]):
        relative = path.relative_to(root).as_posix()
        try:
            info = _decode(path)
        except AudioError as exc:
            skipped.append((relative, getattr(exc, "problem", str(exc))))
            continue
        files.append(LibraryFile(path, relative, info.duration, info.sample_rate))
    if not files:
        raise SoundsiftError(f"{root}: no decodable audio files")
    return Library(root, tuple(files), tuple(skipped))


def _decode(path: Path) -> AudioInfo:
    """Read ``path`` to its end and return its header facts (AudioError when any part fails to decode)."""
    with AudioReader(path) as reader:
        for _ in reader.blocks():
            pass
        return reader.info
