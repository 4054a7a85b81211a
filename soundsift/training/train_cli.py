"""``soundsift train separator``: argument parsing for the separator trainer."""
from __future__ import annotations

import argparse
from pathlib import Path

from soundsift.cli_args import key_value
from soundsift.training.recipe_names import builtin_recipes


def add_separator_parser(train_sub: argparse._SubParsersAction) -> None:
    """Register ``train separator`` under the ``train`` command group."""
    p = train_sub.add_parser("separator", help="train a separator from a TOML recipe (single process or torchrun)")
    p.add_argument("--recipe", type=Path, required=True, metavar="FILE_OR_NAME",
                   help=f"training recipe (TOML file), or a built-in one: {', '.join(builtin_recipes())}")
    p.add_argument("--run-dir", type=Path, required=True, metavar="DIR",
                   help="where checkpoints, logs, plots and the best model go")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint if it exists")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from soundsift.errors import SoundsiftError
    from soundsift.training.recipe import load_recipe
    from soundsift.training.trainer import train

    recipe = load_recipe(args.recipe)
    checkpoint = args.run_dir / "checkpoint"
    if checkpoint.exists() and not args.resume:
        raise SoundsiftError(f"{args.run_dir}: already holds a checkpoint; pass --resume to continue it")
    progress = train(recipe, args.run_dir, resume=args.resume, device=args.device, progress_bar=not args.quiet)
    print(f"{recipe.name}: {progress.step} steps; checkpoint in {checkpoint}")
    return 0


def add_bench_quality_parser(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench quality`` under the ``bench`` command group."""
    p = bench_sub.add_parser("quality", help="train every regime and compare them as in the paper's tables")
    p.add_argument("--corpus", type=Path, default=Path("data/music"), metavar="DIR",
                   help="training corpus (default: data/music)")
    p.add_argument("--testset", type=Path, default=Path("data/music-test"), metavar="DIR",
                   help="2-source test mixtures from the held-out SoundFont (default: data/music-test)")
    p.add_argument("--validation", type=Path, default=None, metavar="DIR", help="validation mixtures (optional)")
    p.add_argument("--budget", choices=("small", "medium", "large"), default="small",
                   help="small: about an hour on 2 CPU cores; medium: the same rows trained 3x longer "
                        "(about 4 hours); large: for a GPU")
    p.add_argument("--rows", default=None, metavar="A,B", help="only these rows (default: all)")
    p.add_argument("--steps", type=int, default=None, help="override the budget's training steps per row")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="override the budget's batch (labelled items per step; semi rows add as many weak ones)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="score only the first N test mixtures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="override a [loss] weight in every row, e.g. semantic=5 (an ablation; use its own -o)")
    p.add_argument("--optim", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="override an [optim] setting in every row (repeat the flag for more), e.g. schedule=cosine "
                        "and decay_start=900 to anneal rows resumed from a constant-rate run (use its own -o)")
    p.add_argument("-o", "--out", type=Path, default=Path("bench/quality"), metavar="DIR")
    p.set_defaults(handler=_run_bench_quality)


def _run_bench_quality(args: argparse.Namespace) -> int:
    from soundsift.training.bench_quality import format_results, run_bench

    rows = None if args.rows is None else [r.strip() for r in args.rows.split(",") if r.strip()]
    results = run_bench(args.out, args.corpus, args.testset, args.budget, rows, args.validation, args.seed,
                        args.limit, args.steps, args.batch_size, dict(args.loss), dict(args.optim))
    table = format_results(results)
    (args.out / "table.md").write_text(table + "\n")
    print(table)
    return 0
