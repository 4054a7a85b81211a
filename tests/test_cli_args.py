"""The argument types every command line shares (soundsift/cli_args.py), and that no command keeps its own copy."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from soundsift.cli import main
from soundsift.cli_args import fraction, positive_int, positive_number, positive_seconds, segment_seconds

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("parse,text,value", [
    (positive_int, "3", 3), (positive_number, "1e-4", 1e-4), (positive_seconds, "0.5", 0.5),
    (segment_seconds, "10", 10.0), (fraction("overlap", 0.5), "0.5", 0.5),
    (fraction("share", include_high=False), "0", 0.0),
])
def test_values_in_range_are_read(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("parse,text,words", [
    (positive_int, "0", "at least 1"), (positive_number, "nan", "positive number"),
    (positive_number, "inf", "positive number"), (positive_number, "-1", "positive number"),
    (positive_seconds, "0", "seconds"), (segment_seconds, "soon", "number of seconds"),
    (segment_seconds, "0.01", "segment length must be between"), (fraction("overlap", 0.5), "0.6", "[0, 0.5]"),
    (fraction("share", include_high=False), "1", "share must be a fraction in [0, 1)"),
    (fraction("share"), "nan", "[0, 1]"), (fraction("share"), "half", "[0, 1]"),
])
def test_values_out_of_range_are_refused_with_what_is_expected(parse, text, words):
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(words)):
        parse(text)


@pytest.mark.parametrize("option,value", [("--lr", "nan"), ("--lr", "inf"), ("--holdout", "1"),
                                          ("--replay-fraction", "-0.1"), ("--seconds", "0")])
def test_finetune_refuses_unusable_numbers_before_any_work(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main(["finetune", str(tmp_path / "library"), "--name", "mine", option, value])
    assert exit_.value.code == 2 and f"argument {option}: " in capsys.readouterr().err


def test_argument_types_are_defined_only_in_cli_args():
    sources = [*ROOT.joinpath("soundsift").rglob("*.py"), *ROOT.joinpath("research").rglob("*.py")]
    own = [str(p.relative_to(ROOT)) for p in sources
           if p.name != "cli_args.py" and "ArgumentTypeError" in p.read_text(encoding="utf-8")]
    assert own == []
