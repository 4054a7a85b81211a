"""Evaluation: BSS-Eval scores, SDRi, the oracle ceiling and the eval command."""
from __future__ import annotations

import json

import numpy as np
import pytest

from soundsift.audio import write_audio
from soundsift.cli import main
from soundsift.core.config import STFTConfig
from soundsift.training import evaluate as ev
from soundsift.training.data.manifest import Entry, Stem, write_manifest

RATE = 16000


def _make_testset(root, count=2):
    rng = np.random.default_rng(1)
    t = np.arange(RATE * 2) / RATE
    entries = []
    for i in range(count):
        tone = 0.3 * np.sin(2 * np.pi * (300 + 50 * i) * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        noise = 0.1 * rng.standard_normal(t.size)
        stems = []
        for name, wave in (("violin", tone), ("rain", noise)):
            rel = f"test/{i}-{name}.wav"
            write_audio(root / rel, wave[None].astype(np.float32), RATE, "32f")
            stems.append(Stem(rel, (name,), f"the sound of {name}"))
        mix = f"test/{i}-mix.wav"
        write_audio(root / mix, (tone + noise)[None].astype(np.float32), RATE, "32f")
        entries.append(Entry(path=mix, duration=2.0, sample_rate=RATE, labels=("violin", "rain"),
                             caption="a violin plays while rain falls", category="mixture", split="test",
                             group=f"g{i}", source="test", licence="CC0", stems=tuple(stems)))
    write_manifest(root / "manifest.jsonl", entries)
    return root


def test_perfect_estimates_score_high_and_mixture_scores_zero_improvement(tmp_path):
    testset = ev.load_testset(_make_testset(tmp_path))
    scores = ev.evaluate(lambda item, q: item.stems, testset, STFTConfig())
    assert len(scores) == 4 and all(s.sdr > 60 for s in scores)
    assert all(s.query.startswith("the sound of ") for s in scores)
    unprocessed = ev.evaluate(lambda item, q: np.repeat(item.mixture[None], len(q), 0), testset, STFTConfig())
    assert all(abs(s.sdri) < 1e-6 for s in unprocessed)
    assert all(s.oracle_sdr > s.sdr + 3 for s in unprocessed)


def test_oracle_irm_is_a_good_ceiling(tmp_path):
    item = ev.load_testset(_make_testset(tmp_path), limit=1)[0]
    est = ev.oracle_irm(item.stems, RATE, STFTConfig())
    assert est.shape == item.stems.shape
    np.testing.assert_allclose(est.sum(0), item.mixture, atol=1e-4)


def test_summary_has_mean_and_median_per_class(tmp_path):
    testset = ev.load_testset(_make_testset(tmp_path))
    scores = ev.evaluate(lambda item, q: np.repeat(item.mixture[None], len(q), 0), testset, STFTConfig())
    summary = ev.summarise(scores)
    assert set(summary) == {"all", "violin", "rain"} and summary["all"]["count"] == 4
    assert "sdri_median" in summary["violin"]
    assert "violin" in ev.format_table(summary)


def test_eval_command(tmp_path, tiny_model, capsys):
    root = _make_testset(tmp_path / "corpus")
    report = tmp_path / "reports" / "step-1" / "report.json"  # a folder that does not exist yet is made
    assert main(["eval", "--model", str(tiny_model), "--testset", str(root), "--json", str(report),
                 "--queries", "captions"]) == 0
    out = capsys.readouterr().out
    assert "SDRi" in out and "rain" in out
    data = json.loads(report.read_text())
    assert len(data["scores"]) == 4 and data["meta"]["queries"] == "captions"


def test_paraphrase_queries_replace_labels_that_have_one(tmp_path, tiny_model):
    root = _make_testset(tmp_path / "corpus", count=1)
    item = ev.load_testset(root)[0]
    assert ev.paraphrase_queries(item) == ["fiddle", "a downpour"]
    report = tmp_path / "report.json"
    assert main(["eval", "--model", str(tiny_model), "--testset", str(root), "--json", str(report),
                 "--queries", "paraphrases"]) == 0
    assert [s["query"] for s in json.loads(report.read_text())["scores"]] == ["fiddle", "a downpour"]


def test_testset_without_mixtures_is_a_clear_error(tmp_path):
    write_manifest(tmp_path / "manifest.jsonl", [])
    with pytest.raises(Exception, match="no mixtures"):
        ev.load_testset(tmp_path)


def test_oracle_slot_estimator_picks_the_closest_slot(tmp_path):
    import dataclasses

    from soundsift.core import ModelConfig
    from soundsift.model import init_model
    from tests.conftest import TINY

    net, _ = init_model(ModelConfig(network=dataclasses.replace(TINY, learned_queries=3)), seed=0)
    item = ev.load_testset(_make_testset(tmp_path), limit=1)[0]
    slots = ev.slot_outputs(net.eval(), item.mixture, RATE)
    assert slots.shape == (3, item.mixture.size)
    est = ev.oracle_slot_estimator(net)(item, ["a", "b"])
    for stem, chosen in zip(item.stems, est):
        assert any(np.array_equal(chosen, s) for s in slots)
        assert ev._sdr_like(stem, chosen) == max(ev._sdr_like(stem, s) for s in slots)
