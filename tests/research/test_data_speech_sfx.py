"""The speech recipe (espeak-ng) and the sfx recipe on a small fake package tree."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.data.sfx import SfxSettings, build_sfx
from research.data.sfx_table import PACKAGES, ROWS, SourceFile, class_words, read_table
from research.data.speech import SpeechSettings, build_speech
from soundsift.errors import SoundsiftError
from tests.test_data_helpers import assert_groups_disjoint, check_corpus, class_counts, corpus_hashes


def test_speech_corpus_is_balanced_deterministic_and_split_by_text_and_voice(tmp_path: Path) -> None:
    settings = SpeechSettings(clips_per_class=8, sentences=60, seed=2)
    build_speech(tmp_path / "a", settings, workers=1, progress=False)
    entries = check_corpus(tmp_path / "a")
    assert class_counts(entries, "train") == {"man speaking": 6, "woman speaking": 6}
    assert all(e.labels[1] == "speech" and e.category == "speech" for e in entries)
    assert_groups_disjoint(entries)
    voices = {}
    for e in entries:
        voices.setdefault(e.meta["voice"].split("+")[1], set()).add(e.split)
    assert all(len(s) == 1 for s in voices.values()), voices
    build_speech(tmp_path / "b", settings, workers=2, progress=False)
    assert corpus_hashes(tmp_path / "a") == corpus_hashes(tmp_path / "b")


def _noise(seconds: float, rate: int, seed: int, gap: tuple[float, float] | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    audio = (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
    if gap:
        audio[int(gap[0] * rate):int(gap[1] * rate)] = 0
    return audio


def _fake_packages(tmp_path: Path) -> tuple[dict[str, str], list[SourceFile]]:
    """A folder with a zip standing in for 0ad-data and a folder for supertuxkart-data, with a small table."""
    rows, rate = [], 22050
    (tmp_path / "0ad").mkdir()
    zpath = tmp_path / "0ad" / "public.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for i in range(3):
            path = f"audio/ambient/rain_{i}.ogg"
            tmp = tmp_path / f"r{i}.ogg"
            soundfile.write(tmp, _noise(20, rate, i, gap=(2, 9)), rate, format="OGG")
            z.write(tmp, path)
            rows.append(SourceFile("0ad-data", f"public.zip!{path}", "rain", "rain falls", f"0ad:rain{i}",
                                   "CC-BY-SA-3.0"))
    stk = tmp_path / "stk"
    (stk / "sfx").mkdir(parents=True)
    for i in range(4):
        soundfile.write(stk / "sfx" / f"cow{i}.ogg", _noise(1.2, 44100, 10 + i), 44100, format="OGG")
        rows.append(SourceFile("supertuxkart-data", f"sfx/cow{i}.ogg", "cow", "a cow moos", "stk:cows", "CC0-1.0"))
    return {"0ad-data": str(zpath.parent), "supertuxkart-data": str(stk)}, rows


def test_sfx_corpus_from_package_files(tmp_path: Path) -> None:
    roots, rows = _fake_packages(tmp_path)
    settings = SfxSettings(clips_per_class=20, seed=1, packages=("0ad-data", "supertuxkart-data"))
    build_sfx(tmp_path / "a", settings, 1, False, roots, rows)
    entries = check_corpus(tmp_path / "a")
    assert class_counts(entries, "train") == {"rain": 15, "cow": 15}
    assert_groups_disjoint(entries)
    for e in entries:
        assert e.origin and all(o.split(":")[0] in PACKAGES for o in e.origin)
    build_sfx(tmp_path / "b", settings, 2, False, roots, rows)
    assert corpus_hashes(tmp_path / "a") == corpus_hashes(tmp_path / "b")


def test_sfx_names_a_missing_data_folder(tmp_path: Path) -> None:
    with pytest.raises(SoundsiftError, match="0ad-data: its data folder .*missing.* is missing"):
        build_sfx(tmp_path / "x", SfxSettings(packages=("0ad-data",)), 1, False, {"0ad-data": str(tmp_path / "missing")})


def test_table_file_rows_are_checked_and_a_bad_line_is_named(tmp_path: Path) -> None:
    table = tmp_path / "table.tsv"
    header = "\t".join(SourceFile._fields)
    table.write_text(f"{header}\n0ad-data\ta.ogg\train\train falls\t0ad:rain\tCC-BY-SA-3.0\n")
    assert read_table(table) == (SourceFile("0ad-data", "a.ogg", "rain", "rain falls", "0ad:rain", "CC-BY-SA-3.0"),)
    table.write_text(f"{header}\n0ad-data\ta.ogg\train\train falls\t0ad:rain\n")
    with pytest.raises(SoundsiftError, match=r"table\.tsv:2: expected 6 non-empty tab-separated fields"):
        read_table(table)
    table.write_text("package,path\n")
    with pytest.raises(SoundsiftError, match="the first line must be the header"):
        read_table(table)


def test_reviewed_table_is_complete_and_consistent() -> None:
    paths = [(r.package, r.path) for r in ROWS]
    assert len(paths) == len(set(paths))
    labels = {r.label for r in ROWS}
    assert labels <= set(class_words())
    assert {"rain", "wind", "thunder", "water", "birds", "footsteps", "engine", "crowd", "cow"} <= labels
    for r in ROWS:
        assert r.package in PACKAGES and r.caption and r.recording and r.licence, r
    for label in labels:
        assert sum(r.label == label for r in ROWS) >= 1
