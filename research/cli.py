"""The lab's command: ``data`` (build corpora), ``clap`` (pretrain the compact CLAP), ``bench`` (paper tables),
``replaypack`` (the shipped replay pack), ``scorecard`` (model-card tables and bars from eval reports),
``forgetting`` (the fine-tuning protection table), ``paired`` (two models' eval reports compared stem by stem).

Errors raised on purpose end as one line on stderr and exit code 1, as in the ``soundsift`` command.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from research.bench_cli import add_bench_parser
from research.clap.cli import add_clap_parser
from research.data.cli import add_data_parser
from research.forgetting import add_forgetting_parser
from research.paired import add_paired_parser
from research.replaypack import add_replaypack_parser
from research.scorecard import add_scorecard_parser
from soundsift.errors import SoundsiftError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (kept separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="python -m research",
                                     description="Build corpora, pretrain the compact CLAP, run the paper-table bench.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_parser(sub)
    add_clap_parser(sub)
    add_bench_parser(sub)
    add_replaypack_parser(sub)
    add_scorecard_parser(sub)
    add_forgetting_parser(sub)
    add_paired_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; a deliberate error is one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SoundsiftError as exc:
        print(f"research: error: {exc}", file=sys.stderr)
        return 1
