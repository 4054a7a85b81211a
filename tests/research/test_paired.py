"""``python -m research paired``: two eval reports compared stem by stem, on reports the tests write themselves."""
from __future__ import annotations

import json

import numpy as np
import pytest

from research.cli import main
from research.paired import compare, summarise
from research.scorecard_reports import read_report
from soundsift.errors import SoundsiftError
from tests.research.test_scorecard import write_report

STEMS_A = [("cow", 1.0), ("rain", 4.0), ("rain", 2.0), ("cello", 3.0)]
STEMS_B = [("cow", 3.0), ("rain", 1.0), ("rain", 2.0), ("cello", 5.0)]  # B − A: +2, −3, 0, +2


def test_differences_are_paired_by_stem_and_grouped(tmp_path):
    a = read_report(write_report(tmp_path / "a", "set", STEMS_A))
    b = read_report(write_report(tmp_path / "b", "set", STEMS_B))
    rows = {r.group: r for r in compare(a, b, held_out=("cow", "rain"))}
    assert list(rows) == ["all", "seen", "held-out", "held-out: cow", "held-out: rain"]
    assert (rows["all"].count, rows["all"].mean, rows["all"].median, rows["all"].b_better) == (4, 0.25, 1.0, 2)
    assert (rows["held-out"].count, rows["held-out"].mean) == (3, pytest.approx(-1 / 3))
    assert (rows["seen"].mean, rows["held-out: rain"].mean, rows["held-out: rain"].b_better) == (2.0, -1.5, 0)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [0.5, -1.0, 2.0, 3.5, -0.5, 1.0]
    first = summarise("g", values, np.random.default_rng(3))
    assert first == summarise("g", values, np.random.default_rng(3))
    assert min(values) <= first.low < first.mean < first.high <= max(values)
    constant = summarise("g", [2.0, 2.0], np.random.default_rng(0))
    assert (constant.low, constant.high, constant.b_better) == (2.0, 2.0, 2)


def test_reports_of_different_stems_are_refused(tmp_path):
    a = read_report(write_report(tmp_path / "a", "set", STEMS_A))
    b = read_report(write_report(tmp_path / "b", "set", STEMS_A[:3] + [("violin", 3.0)]))
    with pytest.raises(SoundsiftError, match="score different stems \\(2 stems in one only\\)"):
        compare(a, b, paths=("a.json", "b.json"))


def test_reports_without_mixture_names_cannot_be_paired(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"scores": [{"label": "cow", "sdri": 1.0}]}))
    report = read_report(path)
    with pytest.raises(SoundsiftError, match="old.json: its scores do not name their mixtures"):
        compare(report, report, paths=(str(path), str(path)))


def test_command_writes_the_table(tmp_path, capsys):
    a, b = write_report(tmp_path / "a", "set", STEMS_A), write_report(tmp_path / "b", "set", STEMS_B)
    out = tmp_path / "tables" / "paired.md"
    assert main(["paired", str(a), str(b), "--names", "other", "self", "--held-out", "cow", "-o", str(out)]) == 0
    table = out.read_text()
    assert "| stems | count | mean self − other (dB) |" in table
    assert "| held-out: cow | 1 | +2.00 | +2.00 | +2.00 to +2.00 | 1 of 1 |" in table
    assert main(["paired", str(a), str(tmp_path / "missing.json")]) == 1
    assert "missing.json: cannot read" in capsys.readouterr().err
