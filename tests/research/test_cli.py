"""``python -m research`` runs from a source checkout; the product command no longer carries the lab's commands."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from soundsift.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_research_offers_its_commands():
    result = subprocess.run([sys.executable, "-m", "research", "--help"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if re.match(r"    \S", line)]
    assert listed == ["data", "clap", "bench", "replaypack", "scorecard", "forgetting", "paired"]


def test_a_bad_corpus_is_one_line_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run([sys.executable, "-m", "research", "data", "stats", str(missing)], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("research: error:") and str(missing) in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("argv", [["data", "stats", "x"], ["train", "clap", "--corpus", "x", "--out", "y"],
                                  ["bench", "quality"]])
def test_the_soundsift_command_has_no_lab_commands(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("script", sorted(p.stem for p in (ROOT / "research" / "diagnostics").glob("[!_]*.py")))
def test_diagnostic_scripts_import_names_that_exist(script):
    """The diagnostics run only by hand; this keeps them in step with the modules they use."""
    tree = ast.parse((ROOT / "research" / "diagnostics" / f"{script}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("soundsift", "research"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                    f"{script}: {node.module}.{alias.name} does not exist"


@pytest.mark.parametrize("argv", [["data", "music", "--seconds", "nan"], ["data", "speech", "--seconds", "-1"],
                                  ["data", "sfx", "--clips-per-class", "0"], ["clap", "--corpus", "c", "--out", "o",
                                                                              "--steps", "0"]])
def test_bad_numbers_are_usage_errors(argv, capsys):
    from research.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "must be" in capsys.readouterr().err
