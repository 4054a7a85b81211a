"""Saved test sets (``python -m research data testset``): seeded, with ground truth, optionally focused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.cli import main
from research.data.testset import TestsetSettings, build_testset
from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import read_manifest
from tests.test_data_helpers import corpus_hashes
from tests.test_data_mixtures import write_tiny_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "corpus")


def test_testset_is_seeded_and_keeps_ground_truth(corpus: Path, tmp_path: Path) -> None:
    settings = TestsetSettings(corpora=(str(corpus),), mixtures=6, seed=4)
    build_testset(tmp_path / "a", settings, 1, False)
    build_testset(tmp_path / "b", settings, 2, False)
    assert corpus_hashes(tmp_path / "a") == corpus_hashes(tmp_path / "b")
    for e in read_manifest(tmp_path / "a"):
        mix, _ = soundfile.read(tmp_path / "a" / e.path, dtype="float32")
        stems = [soundfile.read(tmp_path / "a" / s.path, dtype="float32")[0] for s in e.stems]
        np.testing.assert_allclose(mix, np.sum(stems, 0), atol=1e-6)
        assert e.meta["queries"][0].startswith("the sound of ")


def test_cli_testset_and_stats(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t"
    assert main(["data", "testset", str(corpus), "-o", str(out), "--mixtures", "3", "--quiet", "--jobs", "1"]) == 0
    assert main(["data", "stats", str(out)]) == 0
    assert "(mixtures)" in capsys.readouterr().out


def test_focused_testset_starts_every_mixture_with_that_category(corpus: Path, tmp_path: Path) -> None:
    build_testset(tmp_path / "t", TestsetSettings(corpora=(str(corpus),), mixtures=12, focus="speech"), 1, False)
    entries = read_manifest(tmp_path / "t")
    assert len(entries) == 12
    for e in entries:
        assert "speech" in e.stems[0].labels and "speech" not in e.stems[1].labels
    with pytest.raises(SoundsiftError, match="no 'sfx' clips"):
        build_testset(tmp_path / "u", TestsetSettings(corpora=(str(corpus),), mixtures=2, focus="sfx"), 1, False)


def test_a_class_outside_the_vocabulary_is_captioned_by_its_manifest_words(tmp_path: Path) -> None:
    from tests.test_absent_queries import corpus_with_new_class

    words = {"noun": "a hammer on an anvil", "clause": "a hammer rings on an anvil"}
    corpus = corpus_with_new_class(tmp_path / "corpus", words)
    build_testset(tmp_path / "t", TestsetSettings(corpora=(str(corpus),), mixtures=8, split="train"), 1, False)
    anvil = [e for e in read_manifest(tmp_path / "t") if "anvil" in e.labels]
    assert anvil and all(f"the sound of {words['noun']}" in e.meta["queries"] for e in anvil)
