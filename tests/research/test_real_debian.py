"""The Debian fetcher: reserved packages refused, unpacked packages reused, interrupted ones redone."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from research.data import debian
from soundsift.errors import SoundsiftError


def _fake_download(calls: list[str]):
    """A stand-in for apt-get download that builds a tiny .deb with dpkg-deb (no network)."""
    def download(package: str, folder: Path) -> Path:
        calls.append(package)
        src = folder / "src"
        (src / "DEBIAN").mkdir(parents=True)
        (src / "DEBIAN" / "control").write_text(
            f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: t\n")
        doc = src / "usr" / "share" / "doc" / package
        doc.mkdir(parents=True)
        (doc / "copyright").write_text("Files: *\nLicense: GPL-2+\n\nFiles: sounds/*\nLicense: CC-BY-SA-3.0\n")
        deb = folder / f"{package}_1.0_all.deb"
        subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(src), str(deb)], check=True,
                       capture_output=True)
        subprocess.run(["rm", "-r", str(src)], check=True)
        return deb
    return download


@pytest.mark.parametrize("package", sorted(debian.RESERVED))
def test_reserved_packages_are_refused_before_download(package, tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(debian, "_download", _fake_download(calls))
    with pytest.raises(SoundsiftError, match="reserved"):
        debian.fetch_all(["fake-data", package], tmp_path)
    assert calls == []


def test_fetch_unpacks_once_and_reads_licences(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(debian, "_download", _fake_download(calls))
    tree = debian.fetch("fake-data", tmp_path, progress=False)
    assert tree == tmp_path / "fake-data"
    assert debian.fetch("fake-data", tmp_path, progress=False) == tree
    assert calls == ["fake-data"]
    assert debian.licences("fake-data", tree) == ["GPL-2+", "CC-BY-SA-3.0"]


def test_cache_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(debian.CACHE_ENV, str(tmp_path / "env"))
    assert debian.cache_root() == tmp_path / "env"
    assert debian.cache_root(tmp_path / "opt") == tmp_path / "opt"


def test_interrupted_fetch_is_redone(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(debian, "_download", _fake_download(calls))
    (tmp_path / ".fake-data.x1.part").mkdir()
    (tmp_path / "fake-data").mkdir()  # half there: no completion mark
    tree = debian.fetch("fake-data", tmp_path, progress=False)
    assert calls == ["fake-data"] and (tree / debian.DONE_NAME).is_file()
    assert not list(tmp_path.glob(".*.part"))


def test_failed_download_leaves_nothing(tmp_path, monkeypatch):
    def broken(package: str, folder: Path) -> Path:
        raise SoundsiftError(f"{package}: apt-get download failed (E: Unable to locate package {package})")
    monkeypatch.setattr(debian, "_download", broken)
    with pytest.raises(SoundsiftError, match="Unable to locate"):
        debian.fetch("no-such-data", tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == [".no-such-data.lock"]
