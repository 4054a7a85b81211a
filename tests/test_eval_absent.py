"""Absent-query levels and the paraphrase gap: the functions and `soundsift eval --absent --paraphrase-gap`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from soundsift.audio import write_audio
from soundsift.cli import main
from soundsift.errors import SoundsiftError
from soundsift.training import absent_eval as ae
from soundsift.training import evaluate as ev
from soundsift.training.data.manifest import Entry, Stem, write_manifest

RATE = 16000
TAGS = {"man speaking": ("man speaking", "speech"), "woman speaking": ("woman speaking", "speech")}


def _make_testset(root, mixtures, metas=None):
    """One mixture per tuple of classes in ``mixtures``; ``metas`` gives each entry's metadata."""
    rng = np.random.default_rng(0)
    entries = []
    for i, classes in enumerate(mixtures):
        stems, total = [], 0
        for k, name in enumerate(classes):
            wave = 0.2 * rng.standard_normal(RATE).astype(np.float32) * (1 + k)
            rel = f"test/{i}-{k}.wav"
            write_audio(root / rel, wave[None], RATE, "32f")
            stems.append(Stem(rel, TAGS.get(name, (name,)), f"the sound of {name}"))
            total = total + wave
        mix = f"test/{i}-mix.wav"
        write_audio(root / mix, total[None], RATE, "32f")
        entries.append(Entry(path=mix, duration=1.0, sample_rate=RATE, labels=tuple(classes), caption="x",
                             category="mixture", split="test", group=f"g{i}", source="test", licence="CC0",
                             stems=tuple(stems), meta=(metas or {}).get(i, {})))
    write_manifest(root / "manifest.jsonl", entries)
    return root


def test_level_is_energy_relative_to_the_mixture():
    mixture = np.random.default_rng(1).standard_normal(1000)
    assert ae.level_db(mixture, mixture) == pytest.approx(0.0)
    assert ae.level_db(0.1 * mixture, mixture) == pytest.approx(-20.0)
    assert ae.level_db(np.zeros(1000), mixture) == ae.FLOOR_DB


def test_absent_class_shares_no_label_with_the_mixture(tmp_path):
    root = _make_testset(tmp_path, [("man speaking", "rain"), ("woman speaking", "violin"), ("violin", "rain")])
    testset = ev.load_testset(root)
    classes = ae.class_tags(testset)
    assert classes["man speaking"] == {"man speaking", "speech"}
    # a man speaking with rain: violin is the only class sharing no label (woman speaking is speech too)
    assert ae.absent_classes(testset[0], classes) == ("violin",)
    assert ae.absent_classes(testset[1], classes) == ("rain",)
    assert ae.absent_classes(testset[2], classes)[0] in ("man speaking", "woman speaking")
    assert ae.absent_classes(testset[2], classes) == ae.absent_classes(testset[2], classes)  # no randomness


def test_test_set_absent_metadata_is_used_and_checked(tmp_path):
    root = _make_testset(tmp_path / "a", [("violin", "rain")], {0: {"absent": ["dog barking", "siren"]}})
    item = ev.load_testset(root)[0]
    assert ae.absent_classes(item, ae.class_tags([item])) == ("dog barking", "siren")
    bad = _make_testset(tmp_path / "b", [("violin", "rain")], {0: {"absent": "dog barking"}})
    with pytest.raises(SoundsiftError, match=r"0-mix\.wav: 'absent' must list class labels"):
        ev.load_testset(bad)


def test_absent_levels_measure_what_the_model_returns(tmp_path):
    testset = ev.load_testset(_make_testset(tmp_path, [("violin", "rain"), ("flute", "wind")]))
    silent = ae.absent_levels(lambda item, q: np.zeros((len(q), item.mixture.size)), testset)
    assert [s.level_db for s in silent] == [ae.FLOOR_DB] * 2
    assert silent[0].query == ev.QUERY_TEMPLATE.format(label=silent[0].label)
    assert silent[0].label in ("flute", "wind")
    quieter = ae.absent_levels(lambda item, q: np.repeat(0.1 * item.mixture[None], len(q), 0), testset)
    assert ae.median_level(quieter) == pytest.approx(-20.0)
    assert ae.median_level([]) is None


def _score(mixture, label, query, sdri):
    return ev.Score(mixture, label, query, 0.0, 0.0, 0.0, sdri, 0.0)


def test_paraphrase_gap_compares_only_reworded_stems():
    labels = [_score("m", "violin", "the sound of violin", 8.0), _score("m", "flute", "the sound of flute", 5.0)]
    paraphrased = [_score("m", "violin", "fiddle", 6.5), _score("m", "flute", "the sound of flute", 1.0)]
    gap = ae.paraphrase_gap(labels, paraphrased)
    assert (gap.count, gap.label_sdri, gap.paraphrase_sdri, gap.gap_db) == (1, 8.0, 6.5, 1.5)
    assert ae.paraphrase_gap(labels, labels) is None
    with pytest.raises(ValueError, match="different stems"):
        ae.paraphrase_gap(labels, paraphrased[::-1])


def test_eval_command_reports_absent_level_and_paraphrase_gap(tmp_path, tiny_model, capsys):
    root = _make_testset(tmp_path / "set", [("violin", "rain"), ("flute", "wind")])
    report = tmp_path / "report.json"
    assert main(["eval", "--model", str(tiny_model), "--testset", str(root), "--absent", "--paraphrase-gap",
                 "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "absent queries: median level" in out and "dB re mixture over 2 queries" in out
    assert "paraphrases: 3 stems" in out  # "fiddle", "a downpour", "a breeze"; flute has none
    data = json.loads(report.read_text())
    assert len(data["absent"]["scores"]) == 2 and data["absent"]["median_level_db"] <= 0.0 + 1e-6
    assert data["paraphrase_gap"]["count"] == 3


def test_eval_without_the_flags_reports_neither(tmp_path, tiny_model, capsys):
    root = _make_testset(tmp_path / "set", [("violin", "rain")])
    report = tmp_path / "report.json"
    assert main(["eval", "--model", str(tiny_model), "--testset", str(root), "--json", str(report)]) == 0
    assert "absent queries" not in capsys.readouterr().out
    assert not {"absent", "paraphrase_gap"} & set(json.loads(report.read_text()))


def test_domain_keeps_the_mixtures_of_one_domain(tmp_path, tiny_model, capsys):
    metas = {0: {"domain": "speech over sfx"}, 1: {"domain": "sfx pairs"}, 2: {"domain": "speech over sfx"}}
    root = _make_testset(tmp_path / "set", [("man speaking", "rain"), ("wind", "rain"), ("woman speaking", "wind")],
                         metas)
    assert [m.labels[0] for m in ev.load_testset(root, domain="speech over sfx")] == ["man speaking", "woman speaking"]
    assert [m.labels[0] for m in ev.load_testset(root, limit=1, domain="speech over sfx")] == ["man speaking"]
    with pytest.raises(SoundsiftError, match="no mixtures of domain 'music' \\(domains: sfx pairs, speech over sfx\\)"):
        ev.load_testset(root, domain="music")
    report = tmp_path / "report.json"
    assert main(["eval", "--model", str(tiny_model), "--testset", str(root), "--domain", "sfx pairs",
                 "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["meta"]["domain"] == "sfx pairs" and {s["label"] for s in data["scores"]} == {"wind", "rain"}
