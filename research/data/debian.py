"""Debian packages as data sources: fetched with ``apt-get download``, unpacked with ``dpkg -x``.

Nothing is installed system-wide.  Each package is unpacked into its own folder of a cache
(``data/cache/debian/<package>/`` under the working directory by default, or the folder named
by ``SOUNDSIFT_DEBIAN_CACHE`` / ``--debian-cache``).  A package already unpacked is reused; an
interrupted fetch leaves only a temporary folder, which the next run removes and redoes.

Some packages are reserved for independent acceptance tests of this project and are refused
here, whatever asks for them: no corpus may be built, tuned or evaluated on them.
"""
from __future__ import annotations

import fcntl
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from soundsift.errors import SoundsiftError

RESERVED = frozenset({"gcompris-qt-data", "tuxpaint-stamps-default", "ktuberling-data"})
CACHE_ENV = "SOUNDSIFT_DEBIAN_CACHE"
DEFAULT_CACHE = Path("data/cache/debian")
DONE_NAME = ".unpacked"


def cache_root(override: str | Path | None = None) -> Path:
    """The cache folder: ``override``, else ``$SOUNDSIFT_DEBIAN_CACHE``, else ``data/cache/debian``."""
    return Path(override or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def check_allowed(package: str) -> None:
    """Refuse a reserved package (kept for independent acceptance tests) with one clear line."""
    if package in RESERVED:
        raise SoundsiftError(f"{package} is reserved for independent acceptance tests and is never used as data")


def fetch(package: str, cache: str | Path | None = None, progress: bool = True) -> Path:
    """The folder holding ``package``'s unpacked files, downloading and unpacking it if needed."""
    check_allowed(package)
    if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", package):
        raise SoundsiftError(f"'{package}' is not a Debian package name")
    root = cache_root(cache)
    target = root / package
    if (target / DONE_NAME).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{package}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch per package at a time, across builds
        if not (target / DONE_NAME).is_file():
            _unpack(package, root, target, progress)
    return target


def _unpack(package: str, root: Path, target: Path, progress: bool) -> None:
    for stale in root.glob(f".{package}.*.part"):
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)
    work = Path(tempfile.mkdtemp(prefix=f".{package}.", suffix=".part", dir=root))
    try:
        if progress:
            print(f"fetching {package} ...", file=sys.stderr, flush=True)
        deb = _download(package, work)
        tree = work / "tree"
        _run(["dpkg", "-x", str(deb), str(tree)], f"{package}: dpkg -x failed")
        deb.unlink()
        (tree / DONE_NAME).write_text(deb.name + "\n")
        tree.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fetch_all(packages: Iterable[str], cache: str | Path | None = None, progress: bool = True) -> dict[str, Path]:
    """:func:`fetch` for each package (each reserved name is refused before anything downloads)."""
    packages = list(dict.fromkeys(packages))
    for package in packages:
        check_allowed(package)
    return {p: fetch(p, cache, progress) for p in packages}


def _download(package: str, folder: Path) -> Path:
    result = subprocess.run(["apt-get", "download", package], check=False, cwd=folder, capture_output=True, text=True)
    debs = sorted(folder.glob("*.deb"))
    if result.returncode != 0 or not debs:
        reason = next((line for line in result.stderr.splitlines() if line.startswith("E:")), result.stderr.strip())
        raise SoundsiftError(f"{package}: apt-get download failed ({reason or 'no .deb came back'}); "
                             "check the name with: apt-cache policy " + package)
    return debs[0]


def _run(command: list[str], message: str) -> None:
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise SoundsiftError(f"{message}: {lines[-1] if lines else 'exit status ' + str(result.returncode)}")


def licence_text(package: str, tree: Path) -> str:
    """The package's ``copyright`` file from its unpacked tree (its licence terms, per file)."""
    path = tree / "usr" / "share" / "doc" / package / "copyright"
    if not path.is_file():
        raise SoundsiftError(f"{package}: no usr/share/doc/{package}/copyright in {tree}")
    return path.read_text(encoding="utf-8", errors="replace")


def licences(package: str, tree: Path) -> list[str]:
    """The distinct ``License:`` short names of a machine-readable copyright file, in order."""
    names = re.findall(r"^License:[ \t]*(\S.*?)\s*$", licence_text(package, tree), flags=re.MULTILINE)
    return list(dict.fromkeys(names))


def file_licence(package: str, tree: Path, path: str) -> str:
    """The ``License:`` of the last ``Files:`` stanza of a machine-readable copyright file matching ``path``.

    Stanza patterns name paths of the source tree (``data/music/*``); an installed path matches
    when it ends with one (``usr/share/games/x/data/music/a.ogg``).  "" when nothing matches.
    """
    found = ""
    for stanza in re.split(r"\n\s*\n", licence_text(package, tree)):
        files = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", stanza, flags=re.MULTILINE)
        licence = re.search(r"^License:[ \t]*(\S.*?)\s*$", stanza, flags=re.MULTILINE)
        if files and licence and any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, "*/" + p)
                                     for p in files.group(1).split()):
            found = licence.group(1)
    return found
