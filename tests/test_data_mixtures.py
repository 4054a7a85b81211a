"""On-the-fly captioned mixtures and mixture-of-mixtures, on tiny corpora."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import Entry, write_manifest
from soundsift.training.data.mixtures import ClipPool, MixtureSampler, PoolClip

LABELS = (("violin",), ("flute",), ("rain",), ("man speaking", "speech"), ("woman speaking", "speech"))


def write_tiny_corpus(root: Path) -> Path:
    """Two 1 s tones per class of LABELS, all in the test split, with their manifest."""
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


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "corpus")


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
