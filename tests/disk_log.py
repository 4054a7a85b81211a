"""Recording what reaches the disk: every ``fsync`` (by path) and rename (by target), to check that a folder or
file is flushed before the rename that publishes it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def disk_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (by path) and rename (by target), in order."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name fsynced descriptors")
    log: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def logged_fsync(fd: int) -> None:
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def logged_replace(src, dst) -> None:
        log.append(("rename", str(Path(dst).resolve())))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", logged_fsync)
    monkeypatch.setattr(os, "replace", logged_replace)
    return log


def flushed_before_published(log: list[tuple[str, str]], target: Path, files: list[str]) -> None:
    """``files`` (names) were flushed before the last rename onto ``target``, and ``target``'s folder after it."""
    target = target.resolve()
    publish = max(i for i, entry in enumerate(log) if entry == ("rename", str(target)))
    flushed = {Path(path).name for kind, path in log[:publish] if kind == "fsync"}
    assert set(files) <= flushed, (files, log[:publish])
    assert ("fsync", str(target.parent)) in log[publish:]  # the new name itself reaches the disk
