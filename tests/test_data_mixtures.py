"""On-the-fly captioned mixtures, mixture-of-mixtures and saved test sets, on tiny corpora."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.cli import main
from research.data.testset import TestsetSettings, build_testset
from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import Entry, read_manifest, write_manifest
from soundsift.training.data.mixtures import ClipPool, MixtureSampler, PoolClip
from tests.test_data_helpers import corpus_hashes

LABELS = (("violin",), ("flute",), ("rain",), ("man speaking", "speech"), ("woman speaking", "speech"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    entries = []
    for i, labels in enumerate(LABELS):
        for k in range(2):
            rel = f"clips/{labels[0].replace(' ', '_')}-{k}.wav"
            (root / "clips").mkdir(parents=True, exist_ok=True)
            tone = 0.07 * np.sin(2 * np.pi * (200 + 100 * i + k) * np.arange(16000) / 16000)
            soundfile.write(root / rel, tone.astype(np.float32), 16000)
            category = "speech" if "speech" in labels else "music"
            entries.append(Entry(rel, 1.0, 16000, labels, "x", category, "test", f"g{i}{k}", "src", "CC0-1.0"))
    write_manifest(root / "manifest.jsonl", entries)
    return root


def test_sampled_mixtures_are_exact_sums_of_distinct_classes(corpus: Path) -> None:
    sampler = MixtureSampler(ClipPool.from_corpora([corpus], "test"), n_sources=2, gain_db=5)
    rng = np.random.default_rng(0)
    for _ in range(30):
        m = sampler.sample(rng)
        np.testing.assert_allclose(m.audio, m.sources.sum(0), atol=1e-6)
        tags = [set(c.entry.labels) for c in m.clips]
        assert not tags[0] & tags[1]
        assert all(abs(g) <= 5 for g in m.gains_db) and m.caption
    mm = sampler.mixture_of_mixtures(rng, 2)
    used = [label for x in mm.mixtures for c in x.clips for label in c.entry.labels]
    assert len(used) == len(set(used))
    np.testing.assert_allclose(mm.audio, sum(x.audio for x in mm.mixtures), atol=1e-6)


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


def _pool(categories: dict[str, str]) -> ClipPool:
    entries = [Entry(f"{label}.wav", 1.0, 16000, (label,), "x", category, "train", label, "src", "CC0-1.0")
               for label, category in categories.items()]
    return ClipPool([PoolClip(e, Path(".")) for e in entries])


def test_category_weights_favour_a_category_and_reject_bad_weights() -> None:
    pool = _pool({"a": "music", "b": "music", "c": "speech", "d": "speech"})
    rng = np.random.default_rng(0)
    weighted = MixtureSampler(pool, 2, category_weights={"music": 9.0})
    firsts = [weighted.draw_clips(rng, 1)[0].entry.category for _ in range(400)]
    assert 0.84 < firsts.count("music") / 400 < 0.96
    plain = MixtureSampler(pool, 2)
    firsts = [plain.draw_clips(rng, 1)[0].entry.category for _ in range(400)]
    assert 0.4 < firsts.count("music") / 400 < 0.6
    with pytest.raises(SoundsiftError, match="positive"):
        MixtureSampler(pool, 2, category_weights={"music": -1.0})


def test_focused_testset_starts_every_mixture_with_that_category(corpus: Path, tmp_path: Path) -> None:
    build_testset(tmp_path / "t", TestsetSettings(corpora=(str(corpus),), mixtures=12, focus="speech"), 1, False)
    entries = read_manifest(tmp_path / "t")
    assert len(entries) == 12
    for e in entries:
        assert "speech" in e.stems[0].labels and "speech" not in e.stems[1].labels
    with pytest.raises(SoundsiftError, match="no 'sfx' clips"):
        build_testset(tmp_path / "u", TestsetSettings(corpora=(str(corpus),), mixtures=2, focus="sfx"), 1, False)
