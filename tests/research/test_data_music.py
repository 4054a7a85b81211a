"""The music recipe on a tiny build: TimGM6mb renders of a few classes and chorales."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.cli import main
from research.data.music import MusicSettings, build_music
from research.data.synth import resolve_soundfont
from soundsift.errors import SoundsiftError
from tests.test_data_helpers import assert_groups_disjoint, check_corpus, class_counts, corpus_hashes

CLASSES = ("violin", "drums", "tuba", "flute")


def _settings(**changes: object) -> MusicSettings:
    timgm = str(resolve_soundfont("timgm6mb").path)
    base = {"clips_per_class": 8, "pieces": 6, "classes": CLASSES, "soundfonts": (timgm,), "test_soundfont": "timgm6mb",
                "chorale_limit": 30, "seed": 5}
    return MusicSettings(**{**base, **changes})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("music")
    build_music(out, _settings(), workers=1, progress=False)
    return out


def test_corpus_is_valid_balanced_and_captioned(built: Path) -> None:
    entries = check_corpus(built)
    for split, n in (("train", 6), ("val", 1), ("test", 1)):
        counts = class_counts(entries, split)
        assert set(counts) == set(CLASSES) and set(counts.values()) == {n}, (split, counts)
    assert {e.meta["soundfont"] for e in entries if e.split == "test"} == {"timgm6mb"}
    assert {e.meta["soundfont"] for e in entries if e.split == "train"} == {"TimGM6mb"}


def test_items_alternate_between_several_train_soundfonts(tmp_path: Path) -> None:
    second = tmp_path / "Second.sf2"
    shutil.copyfile(resolve_soundfont("timgm6mb").path, second)
    settings = _settings(soundfonts=(str(resolve_soundfont("timgm6mb").path), str(second)), pieces=0,
                         classes=("flute",))
    build_music(tmp_path / "m", settings, workers=1, progress=False)
    entries = check_corpus(tmp_path / "m")
    train = [e.meta["soundfont"] for e in entries if e.split == "train"]
    assert sorted(set(train)) == ["Second", "TimGM6mb"] and abs(train.count("Second") * 2 - len(train)) <= 1
    assert {e.meta["soundfont"] for e in entries if e.split == "test"} == {"timgm6mb"}


def test_train_and_test_never_share_a_tune(built: Path) -> None:
    assert_groups_disjoint(check_corpus(built))


def test_pieces_are_exact_sums_of_distinct_instrument_stems(built: Path) -> None:
    pieces = [e for e in check_corpus(built) if e.stems]
    assert pieces
    for e in pieces:
        mix, _ = soundfile.read(built / e.path, dtype="float32")
        stems = [soundfile.read(built / s.path, dtype="float32")[0] for s in e.stems]
        np.testing.assert_allclose(mix, np.sum(stems, axis=0), atol=1e-6)
        assert len({s.labels[0] for s in e.stems}) == len(e.stems) >= 2
        assert e.category == "mixture" and set(e.labels) <= set(CLASSES)


def test_same_seed_same_bytes_with_any_worker_count(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_music(again, _settings(), workers=2, progress=False)
    assert corpus_hashes(again) == corpus_hashes(built)
    other = tmp_path / "other"
    build_music(other, _settings(seed=6, pieces=0), workers=1, progress=False)
    assert corpus_hashes(other) != corpus_hashes(built)


def test_resume_renders_only_what_is_missing(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    victim = next((copy / "clips" / "train" / "tuba").glob("*.wav"))
    before = victim.read_bytes()
    victim.unlink()
    report = build_music(copy, _settings(), workers=1, progress=False)
    assert report.reused > 0 and report.written >= 1
    assert victim.read_bytes() == before
    assert corpus_hashes(copy) == corpus_hashes(built)
    with pytest.raises(SoundsiftError, match="other settings"):
        build_music(copy, _settings(clips_per_class=9), workers=1, progress=False)


def test_cli_names_a_missing_soundfont(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "music", "-o", str(tmp_path / "m"), "--soundfont", str(tmp_path / "none.sf2")])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("research: error:") and "none.sf2" in err and "\n" not in err
