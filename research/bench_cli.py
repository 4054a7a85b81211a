"""``python -m research bench``: argument parsing for the paper-table bench (:mod:`research.bench`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from soundsift.cli_args import key_value, positive_int


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench`` on the research command's subcommands."""
    p = sub.add_parser("bench", help="train every regime and compare them as in the paper's tables")
    p.add_argument("--corpus", type=Path, default=Path("data/music"), metavar="DIR",
                   help="training corpus (default: data/music)")
    p.add_argument("--testset", type=Path, default=Path("data/music-test"), metavar="DIR",
                   help="2-source test mixtures from the held-out SoundFont (default: data/music-test)")
    p.add_argument("--validation", type=Path, default=None, metavar="DIR", help="validation mixtures (optional)")
    p.add_argument("--budget", choices=("small", "medium", "large"), default="small",
                   help="small: about an hour on 2 CPU cores; medium: the same rows trained 3x longer "
                        "(about 4 hours); large: for a GPU")
    p.add_argument("--rows", default=None, metavar="A,B", help="only these rows (default: all)")
    p.add_argument("--steps", type=positive_int, default=None, help="override the budget's training steps per row")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="override the budget's batch (labelled items per step; semi rows add as many weak ones)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N", help="score only the first N test mixtures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="override a [loss] weight in every row, e.g. semantic=5 (an ablation; use its own -o)")
    p.add_argument("--optim", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="override an [optim] setting in every row (repeat the flag for more), e.g. schedule=cosine "
                        "and decay_start=900 to anneal rows resumed from a constant-rate run (use its own -o)")
    p.add_argument("--encoder-weights", type=Path, default=None, metavar="DIR",
                   help="a compact CLAP weights folder from 'python -m research clap' (its encoder/) for every row, "
                        "instead of the shipped weights, e.g. one trained on clips the rows do not mix (use its own -o)")
    p.add_argument("-o", "--out", type=Path, default=Path("bench/quality"), metavar="DIR")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from research.bench import format_results, run_bench

    rows = None if args.rows is None else [r.strip() for r in args.rows.split(",") if r.strip()]
    results = run_bench(args.out, args.corpus, args.testset, args.budget, rows, args.validation, args.seed,
                        args.limit, args.steps, args.batch_size, dict(args.loss), dict(args.optim),
                        args.encoder_weights)
    table = format_results(results)
    (args.out / "table.md").write_text(table + "\n")
    print(table)
    return 0
