"""The shared manifest schema, seeded splits and caption composition."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from research.data.splits import assign_splits
from soundsift.training.data.compose import STYLES, compose_caption
from soundsift.training.data.manifest import Entry, ManifestError, Stem, read_manifest, select, write_manifest
from soundsift.training.data.vocabulary import VOCABULARY, phrase, query


def _entry(**changes: object) -> Entry:
    base = {"path": "clips/a.wav", "duration": 4.0, "sample_rate": 16000, "labels": ("violin",), "caption": "a violin plays",
                "category": "music", "split": "train", "group": "g1", "source": "src", "licence": "MIT"}
    return Entry(**{**base, **changes})


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    entries = [_entry(), _entry(path="mix.wav", category="mixture", labels=("violin", "flute"),
                                stems=(Stem("a.wav", ("violin",), "a violin plays"),), meta={"x": 1})]
    write_manifest(tmp_path / "manifest.jsonl", entries)
    assert read_manifest(tmp_path) == entries
    assert select(entries, category="mixture") == entries[1:]



def test_a_written_manifest_gets_the_mode_of_a_plain_file(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("x")
    manifest = write_manifest(tmp_path / "manifest.jsonl", [_entry()])
    assert manifest.stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.jsonl", "plain.txt"]  # no temporary file left

@pytest.mark.parametrize(("change", "message"), [
    ({"caption": " "}, "empty caption"),
    ({"split": "dev"}, "split 'dev'"),
    ({"labels": []}, "'labels'"),
    ({"path": "/abs/a.wav"}, "must be relative"),
    ({"duration": "4"}, "field 'duration'"),
    ({"extra": 1}, "unknown field"),
])
def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path, change: dict, message: str) -> None:
    good = json.loads(_entry().to_json())
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **change}) + "\n")
    with pytest.raises(ManifestError, match=f"manifest.jsonl:2: .*{message}"):
        read_manifest(path)


def test_missing_field_and_missing_manifest(tmp_path: Path) -> None:
    data = json.loads(_entry().to_json())
    del data["licence"]
    (tmp_path / "manifest.jsonl").write_text(json.dumps(data) + "\n")
    with pytest.raises(ManifestError, match="missing field 'licence'"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="no such manifest"):
        read_manifest(tmp_path / "nowhere")


def test_splits_are_seeded_stable_and_sized() -> None:
    groups = [f"g{i}" for i in range(400)]
    a = assign_splits(groups, seed=3)
    assert a == assign_splits(list(reversed(groups)), seed=3)
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 300, "val": 40, "test": 60}
    assert assign_splits(groups, seed=4) != a


def test_small_and_weighted_splits_keep_a_test_and_a_train_group() -> None:
    assert sorted(assign_splits(["a", "b"], 0).values()) == ["test", "train"]
    assert assign_splits(["only"], 0) == {"only": "train"}
    heavy = assign_splits(["a", "b", "c", "d"], 1, weights={"a": 120, "b": 120, "c": 3, "d": 5})
    assert set(heavy.values()) >= {"train", "test"}
    assert sum(w for g, w in {"a": 120, "b": 120, "c": 3, "d": 5}.items() if heavy[g] == "train") >= 120


def test_every_class_has_words_and_captions_use_every_connective() -> None:
    assert query("violin") == "the sound of a violin"
    for label, words in VOCABULARY.items():
        assert words.noun and words.clause, label
    rng = np.random.default_rng(0)
    parts = [phrase("rain"), phrase("violin"), phrase("man speaking")]
    seen = {style: compose_caption(parts, rng, style) for style in STYLES}
    assert seen["while"] == "rain falls while a violin plays and a man speaks"
    assert seen["followed by"] == "rain falls, followed by a violin and a man speaking"
    assert seen["nouns"] == "rain, a violin and a man speaking"
    for caption in seen.values():
        assert "violin" in caption
