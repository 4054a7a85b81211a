"""The real sound-effect corpus: its reviewed tables, packages fetched through the Debian cache, held-out packages."""
from __future__ import annotations

import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.data import sfx
from research.data.realspeech_table import heldout
from research.data.sfx import SfxSettings, build_sfx, read_member
from research.data.sfx_table import PACKAGES, ROWS, Package, SourceFile, class_meta, class_words, read_packages
from soundsift.errors import SoundsiftError
from tests.test_data_helpers import assert_groups_disjoint, check_corpus, corpus_hashes

EVERYDAY = {"dog barking", "rooster", "footsteps", "door", "cheering", "crowd", "traffic", "engine", "siren", "train",
            "rain", "wind", "thunder", "water", "fire", "explosion", "gunshot", "clock ticking", "birds"}
# classes with one recording (a numbered series of takes) each: split by take and time instead
SINGLE_RECORDING = {"digging", "goat", "leaves", "duck", "seagull", "tree falling"}


def test_reviewed_tables_name_known_classes_packages_and_licences():
    words = class_words()
    assert len({r.package for r in ROWS}) >= 12 and {r.package for r in ROWS} <= set(PACKAGES)
    for r in ROWS:
        assert r.label in words, r
        assert r.licence and r.licence == r.licence.strip() and " " not in r.licence, r
        assert r.recording.split(":")[0] and r.caption, r
    assert EVERYDAY <= {r.label for r in ROWS}
    recordings = defaultdict(set)
    for r in ROWS:
        recordings[r.label].add(r.recording)
    assert {label for label, recs in recordings.items() if len(recs) < 2} == SINGLE_RECORDING


def test_classes_outside_the_vocabulary_carry_their_words_into_the_manifest():
    words = class_words()
    assert class_meta("dog barking", words) == {"noun": "a dog barking", "clause": "a dog barks"}
    assert class_meta("rain", words) == {}
    with pytest.raises(SoundsiftError, match="class 'kazoo' has no words"):
        class_meta("kazoo", words)


def test_held_out_packages_are_sfx_packages_and_each_of_their_classes_is_also_trained():
    held = heldout("sfx")
    assert held and held <= set(PACKAGES)
    trained = {r.label for r in ROWS if r.package not in held}
    assert {r.label for r in ROWS if r.package in held} <= trained


def test_packages_table_is_checked(tmp_path: Path):
    table = tmp_path / "packages.tsv"
    table.write_text("package\troot\nscorched3d-data\tusr/share/games/scorched3d\n")
    assert read_packages(table) == {"scorched3d-data": Package("scorched3d-data", "usr/share/games/scorched3d")}
    table.write_text("package\troot\nscorched3d-data\t\n")
    with pytest.raises(SoundsiftError, match=r"packages\.tsv:2: expected 2 non-empty"):
        read_packages(table)


def _tone(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)


def _tree(root: Path) -> tuple[dict[str, str], list[SourceFile]]:
    """Two stand-in packages: 'pkg-a' (plain files and a zip) and 'pkg-b' (held out in the tests)."""
    rows = []
    for package, count in (("pkg-a", 4), ("pkg-b", 2)):
        folder = root / package
        folder.mkdir(parents=True)
        for label in ("rain", "cow"):
            for i in range(count):
                name = f"{label}{i}.wav"
                soundfile.write(folder / name, _tone(6.0 if label == "rain" else 1.0, hash((package, label, i)) % 999),
                                16000)
                rows.append(SourceFile(package, name, label, f"{label} sound", f"{package}:{label}{i}", "CC0-1.0"))
    with zipfile.ZipFile(root / "pkg-a" / "more.zip", "w") as z:
        z.write(root / "pkg-a" / "cow0.wav", "inner/cow9.wav")
    return {"pkg-a": str(root / "pkg-a"), "pkg-b": str(root / "pkg-b")}, rows


def test_archive_members_and_missing_files_are_read_or_named(tmp_path: Path):
    roots, _ = _tree(tmp_path)
    member = SourceFile("pkg-a", "more.zip!inner/cow9.wav", "cow", "a cow", "pkg-a:cow9", "CC0-1.0")
    assert read_member(member, roots) == (tmp_path / "pkg-a" / "cow0.wav").read_bytes()
    with pytest.raises(SoundsiftError, match=r"pkg-a:more\.zip!inner/nope\.wav: listed in the sfx table"):
        read_member(member._replace(path="more.zip!inner/nope.wav"), roots)


def test_held_out_package_only_in_test_and_no_recording_in_two_splits(tmp_path: Path):
    roots, rows = _tree(tmp_path / "tree")
    packages = {p: Package(p, ".") for p in roots}
    settings = SfxSettings(clips_per_class=20, seed=3, packages=("pkg-a", "pkg-b"), held_out=("pkg-b",))
    build_sfx(tmp_path / "a", settings, 1, False, roots, rows, packages)
    entries = check_corpus(tmp_path / "a")
    assert_groups_disjoint(entries)
    for e in entries:
        if "pkg-b" in e.source:
            assert e.split == "test" and e.source == "pkg-b", e
    assert any(e.source == "pkg-b" for e in entries)
    assert {"train", "test"} <= {e.split for e in entries if e.source == "pkg-a"}
    build_sfx(tmp_path / "b", settings, 2, False, roots, rows, packages)
    assert corpus_hashes(tmp_path / "a") == corpus_hashes(tmp_path / "b")


def test_packages_not_given_a_folder_are_fetched_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    roots, rows = _tree(tmp_path / "tree")
    asked = []

    def fake_fetch(package: str, cache: object, progress: bool) -> Path:
        asked.append((package, cache))
        return tmp_path / "tree"

    monkeypatch.setattr(sfx, "fetch", fake_fetch)
    packages = {"pkg-a": Package("pkg-a", "pkg-a"), "pkg-b": Package("pkg-b", "pkg-b")}
    settings = SfxSettings(clips_per_class=4, packages=("pkg-a", "pkg-b"), held_out=())
    build_sfx(tmp_path / "c", settings, 1, False, {"pkg-b": roots["pkg-b"]}, rows, packages, cache=tmp_path / "cache")
    assert asked == [("pkg-a", tmp_path / "cache")]
    assert check_corpus(tmp_path / "c")


def test_no_data_table_or_recipe_names_a_reserved_package():
    from research.data.debian import RESERVED

    folder = Path(sfx.__file__).parent
    files = sorted(p for p in folder.iterdir() if p.suffix in (".tsv", ".toml", ".py"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        named = {p for p in RESERVED if p in text} - ({*RESERVED} if path.name == "debian.py" else set())
        assert not named, (path.name, named)
