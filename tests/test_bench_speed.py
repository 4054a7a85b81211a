"""soundsift bench speed: the quick run measures both engines and writes its section of the report."""
from __future__ import annotations

from pathlib import Path

from soundsift.cli import main
from soundsift.speedbench import report
from soundsift.speedbench.inputs import make_input
from tests.test_onnx import make_onnx_model


def test_quick_bench_writes_a_report_section(tmp_path: Path) -> None:
    model = make_onnx_model(tmp_path / "tiny", seed=4)
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nHand-written notes stay.\n\n" + report.BEGIN + "\nold numbers\n" + report.END
                   + "\n\nMore notes.\n")
    code = main(["bench", "speed", "--model", str(model), "--quick", "--profile", "--threads", "1",
                 "--workdir", str(tmp_path / "work"), "--output", str(doc)])
    assert code == 0
    text = doc.read_text()
    assert text.startswith("# Performance\n\nHand-written notes stay.") and text.endswith("More notes.\n")
    assert "old numbers" not in text and text.count(report.BEGIN) == 1
    rows = [line for line in text.splitlines() if line.startswith(("| torch |", "| onnx |"))]
    assert [row.split("|")[1:4] for row in rows] == [
        [" torch ", " 3 s ", " 1 "], [" torch ", " 3 s ", " 2 "], [" onnx ", " 3 s ", " 1 "], [" onnx ", " 3 s ", " 2 "]]
    assert all(row.rstrip(" |").endswith("yes") for row in rows[:2])
    assert all(row.rstrip(" |").endswith("no") for row in rows[2:])
    assert "Threads: 1" in text and "| decoder | dec.0 |" in text and "| encoder | enc.0 |" in text
    assert "| front end | downmix + resample |" in text


def test_new_report_file_and_bad_arguments(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "performance.md"
    report.write_section(doc, f"{report.BEGIN}\nnumbers\n{report.END}", "Performance")
    assert doc.read_text() == f"# Performance\n\n{report.BEGIN}\nnumbers\n{report.END}\n"
    assert main(["bench", "speed", "--engines", "tensorrt", "--quick", "--workdir", str(tmp_path)]) == 1
    assert main(["bench", "speed", "--fresh-model", '{"width": 3}', "--quick", "--workdir", str(tmp_path)]) == 1
    assert main(["bench", "speed", "--repeats", "0", "--quick", "--workdir", str(tmp_path)]) == 1


def test_repeated_cases_report_the_median_and_range(tmp_path: Path, monkeypatch) -> None:
    from soundsift.speedbench import measure

    walls = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(measure, "run_case", lambda case, *a: measure.Result(case, 0.1, next(walls), 1.0, 2**20, False))
    result = measure.median_case(measure.Case("onnx", 3.0, 1), tmp_path, tmp_path, 1, 3)
    assert (result.seconds, result.spread) == (2.0, (1.0, 3.0))
    info = report.RunInfo("soundsift bench speed --repeats 3", 1, "m", "", 0.0, 0.0, 3)
    text = report.render(info, [result], [])
    assert "median of 3 runs" in text and "| onnx | 3 s | 1 | 2.00 (1.00–3.00) |" in text


def test_inputs_are_seeded_and_made_once(tmp_path: Path) -> None:
    first = make_input(tmp_path / "a.wav", 1.5)
    stamp = first.stat().st_mtime_ns
    assert make_input(tmp_path / "a.wav", 1.5).stat().st_mtime_ns == stamp
    assert make_input(tmp_path / "b.wav", 1.5).read_bytes() == first.read_bytes()
