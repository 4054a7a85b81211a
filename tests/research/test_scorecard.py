"""``python -m research scorecard``: tables and bar checks from eval reports the tests write themselves."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from research.cli import main
from research.scorecard_bars import load_bars, measure, verdict
from research.scorecard_reports import load_model_scores
from soundsift.errors import SoundsiftError

ROOT = Path(__file__).resolve().parents[2]
BARS = load_bars()
REAL = ("real-speech-over-sfx", "real-speech-over-music", "real-instrument-pairs", "real-sfx-pairs")


def write_report(folder: Path, set_name: str, stems: list[tuple[str, float]], absent: list[float] | None = None,
                 gap: float | None = None) -> Path:
    """A report shaped as ``soundsift eval --json`` writes it, with only the numbers a test needs."""
    scores = [{"mixture": f"mixtures/mix-{i:05d}/mix.wav", "label": label, "query": f"the sound of {label}",
               "sdr": sdri, "sir": 20.0, "sar": 20.0, "sdri": sdri, "oracle_sdr": 20.0}
              for i, (label, sdri) in enumerate(stems)]
    payload: dict = {"meta": {"testset": set_name}, "summary": {}, "scores": scores}
    if absent is not None:
        payload["absent"] = {"median_level_db": None, "scores": [
            {"mixture": "mixtures/mix-00000/mix.wav", "label": "x", "query": "x", "level_db": level} for level in absent]}
    if gap is not None:
        payload["paraphrase_gap"] = {"count": 3, "label_sdri": 9.0, "paraphrase_sdri": 9.0 - gap, "gap_db": gap}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{set_name}.json"
    path.write_text(json.dumps(payload))
    return path


def bar_named(start: str):
    return next(bar for bar in BARS.bars if bar.name.startswith(start))


def outcome(folder: Path, start: str):
    bar = bar_named(start)
    result = measure(bar, load_model_scores(folder, "m", BARS.sets))
    return result, verdict(bar, result)


def test_a_bar_is_met_at_its_target_and_short_by_the_difference_below_it(tmp_path):
    write_report(tmp_path / "a", "real-instrument-pairs", [("cello", 8.5), ("flute", 7.5)])
    write_report(tmp_path / "b", "real-instrument-pairs", [("cello", 7.0), ("flute", 8.0)])
    assert outcome(tmp_path / "a", "real instruments")[1] == "met"
    result, said = outcome(tmp_path / "b", "real instruments")
    assert result.value == pytest.approx(7.5) and said == "short by 0.50 dB"


def test_the_speech_bar_pools_only_the_speech_stems_of_both_real_speech_domains(tmp_path):
    write_report(tmp_path, "real-speech-over-sfx", [("man speaking", 9.0), ("dog barking", -30.0)])
    write_report(tmp_path, "real-speech-over-music", [("woman speaking", 6.0), ("woman speaking", 6.0)])
    result, said = outcome(tmp_path, "real speech")
    assert result.value == pytest.approx(7.0) and result.detail == "n 3" and said == "short by 1.00 dB"


def test_a_bar_missing_one_of_its_sets_has_no_verdict_but_names_the_set(tmp_path):
    write_report(tmp_path, "real-speech-over-sfx", [("man speaking", 12.0)])
    result, said = outcome(tmp_path, "real speech")
    assert result.value == pytest.approx(12.0) and said == "incomplete (no real-speech-over-music)"


def test_sound_effect_classes_with_three_stems_and_a_negative_mean_are_named(tmp_path):
    write_report(tmp_path, "real-sfx-pairs", [("door", 4.0)] * 3 + [("rain", -1.0), ("rain", -2.0), ("rain", 0.0)]
                 + [("lion", -20.0)] * 2 + [("bees", 0.0)] * 3)
    result, said = outcome(tmp_path, "real sound effects: every class")
    assert result.value == pytest.approx(-1.0)
    assert result.detail == "fails: rain -1.00 (n 3), bees 0.00 (n 3)"  # lion has 2 stems; 0 dB is not positive
    assert said == "short by 1.00 dB"
    write_report(tmp_path, "real-sfx-pairs", [("door", 4.0)] * 3 + [("lion", -20.0)] * 2)
    assert outcome(tmp_path, "real sound effects: every class")[1] == "met"


def test_absent_levels_are_pooled_over_the_four_real_domains(tmp_path):
    for name, levels in zip(REAL, ([-30.0], [-25.0], [-10.0, -12.0], [-40.0])):
        write_report(tmp_path, name, [("cello", 1.0)], absent=levels)
    result, said = outcome(tmp_path, "absent queries")
    assert result.value == pytest.approx(-25.0) and result.detail == "n 5" and said == "met"
    write_report(tmp_path, REAL[0], [("cello", 1.0)])  # scored without --absent
    assert outcome(tmp_path, "absent queries")[1] == f"incomplete (no {REAL[0]})"


def test_the_paraphrase_bar_takes_the_largest_gap_either_way(tmp_path):
    write_report(tmp_path, "test-music", [("cello", 1.0)], gap=0.3)
    write_report(tmp_path, "test-speech", [("cello", 1.0)], gap=-1.7)
    write_report(tmp_path, "test-sfx", [("cello", 1.0)])  # no class with a paraphrase
    for name in REAL:
        write_report(tmp_path, name, [("cello", 1.0)], gap=1.0)
    result, said = outcome(tmp_path, "paraphrases")
    assert result.value == pytest.approx(1.7) and result.detail == "test-speech -1.70, 6 sets"
    assert said == "short by 0.20 dB"


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "research", "scorecard", *argv], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def test_the_command_compares_models_in_markdown_and_notes_missing_reports(tmp_path):
    for name, sdri in (("old", 6.0), ("new", 9.0)):
        write_report(tmp_path / name, "test-music", [("cello", sdri), ("flute", 15.0 - sdri)], absent=[-8.0], gap=0.25)
        write_report(tmp_path / name, "real-instrument-pairs", [("cello", sdri)] * 2 + [("flute", sdri + 2)] * 2)
    out = tmp_path / "card.md"
    result = run_cli(str(tmp_path / "old"), str(tmp_path / "new"), "--names", "v1", "v2", "--per-class", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out}\n"
    notes = result.stderr.splitlines()
    assert len(notes) == 10 and all(n.startswith("note: ") and n.endswith("not found, skipped") for n in notes)
    assert f"note: {tmp_path / 'old' / 'test-speech.json'} not found, skipped" in notes
    card = out.read_text()
    assert "| test-music | 7.50 (2) | -8.00 | +0.25 | 7.50 (2) | -8.00 | +0.25 |" in card
    assert "| real instruments: mean SDRi | ≥ 8 dB | 7.00 (n 4): short by 1.00 dB | 10.00 (n 4): met |" in card
    assert "test-speech |" not in card  # no model scored it
    classes = card.split("## Classes of test-music")[1].split("##")[0]
    assert classes.index("| cello | 1 | 6.00 | 9.00 |") < classes.index("| flute | 1 | 9.00 | 6.00 |")  # by v2


def test_a_malformed_report_is_one_line_naming_it(tmp_path):
    write_report(tmp_path, "test-music", [("cello", 1.0)])
    bad = tmp_path / "test-speech.json"
    bad.write_text('{"scores": [')
    result = run_cli(str(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"research: error: {bad}: not valid JSON") and result.stderr.count("\n") == 1
    bad.write_text(json.dumps({"scores": [{"label": "cello", "sdri": "high"}]}))
    result = run_cli(str(tmp_path))
    assert result.stderr == f"research: error: {bad}: not a soundsift eval report (a score is 'high', not a number)\n"


@pytest.mark.parametrize("payload, reason", [([], "the file holds no JSON object"), ({}, "no 'scores' entry"),
                                             ({"scores": [], "absent": []}, "'absent' is not a JSON object"),
                                             ({"scores": [{"sdri": 1.0}]}, "no 'label' entry")])
def test_each_malformed_shape_is_named(tmp_path, payload, reason, capsys):
    (tmp_path / "test-music.json").write_text(json.dumps(payload))
    assert main(["scorecard", str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith(f"not a soundsift eval report ({reason})\n")


def test_no_report_at_all_or_a_wrong_number_of_names_is_an_error(tmp_path, capsys):
    assert main(["scorecard", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("research: error: no eval reports (test-music.json")
    write_report(tmp_path, "test-music", [("cello", 1.0)])
    assert main(["scorecard", str(tmp_path), "--names", "a", "b"]) == 1
    assert capsys.readouterr().err == "research: error: --names gives 2 names for 1 OUT folders\n"


def test_a_bars_file_without_one_target_per_bar_is_refused(tmp_path):
    bars = tmp_path / "bars.toml"
    bars.write_text('sets = ["a"]\n[[bar]]\nname = "x"\nmeasure = "mean_sdri"\nat_least = 1\nat_most = 2\n')
    with pytest.raises(SoundsiftError, match=f"{bars}: bad scorecard bars"):
        load_bars(bars)


def test_a_class_table_shows_differing_stem_counts_and_puts_classes_the_last_model_lacks_last(tmp_path):
    from research.scorecard import class_table

    write_report(tmp_path / "a", "test-sfx", [("door", 1.0), ("door", 3.0), ("rain", 5.0)])
    write_report(tmp_path / "b", "test-sfx", [("door", 4.0)] * 3)
    models = [load_model_scores(tmp_path / name, name, ["test-sfx"]) for name in ("a", "b")]
    rows = class_table(models, "test-sfx").splitlines()[-2:]
    assert rows == ["| door | 2/3 | 2.00 | 4.00 |", "| rain | 1 | 5.00 | — |"]
