"""``soundsift train separator``: argument parsing for the separator trainer."""
from __future__ import annotations

import argparse
from pathlib import Path

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
