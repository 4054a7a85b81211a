"""``python -m research clap``: argument parsing, then :func:`~research.clap.trainer.train_clap`."""
from __future__ import annotations

import argparse
from pathlib import Path

from soundsift.cli_args import positive_int


def add_clap_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clap`` on the research command's subcommands."""
    p = sub.add_parser("clap", help="pretrain the compact CLAP query encoder on labelled single-source clips")
    p.add_argument("--corpus", dest="corpora", action="append", required=True, type=Path, metavar="DIR",
                   help="corpus folder from 'python -m research data music|speech|sfx' (repeat for several); "
                        "trains on its train split, reports on its test split")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="run folder: checkpoint/, then encoder/ (the weights), report.json and report.md")
    p.add_argument("--steps", type=positive_int, default=2500, metavar="N", help="training steps (default: 2500)")
    p.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="pairs per step (default: 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--checkpoint-every", type=positive_int, default=250, metavar="N",
                   help="steps between checkpoints (default: 250)")
    p.add_argument("--holdout-class", dest="holdout_classes", action="append", default=[], metavar="LABEL",
                   help="leave this class out of training and score it zero-shot (repeat for several)")
    p.add_argument("--init-from", type=Path, metavar="DIR",
                   help="start from this compact CLAP weights folder (e.g. soundsift/pretrained/encoders/compact); "
                        "its anchors are replaced by this run's")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from research.clap.report import format_report
    from research.clap.trainer import ENCODER_DIR, ClapSettings, train_clap

    settings = ClapSettings(corpora=tuple(str(c) for c in args.corpora), steps=args.steps,
                            batch_size=args.batch_size, seed=args.seed, checkpoint_every=args.checkpoint_every,
                            holdout_classes=tuple(args.holdout_classes),
                            init_from=None if args.init_from is None else str(args.init_from))
    bars: dict[str, tqdm] = {}

    def bar(name: str, total: int, unit: str) -> tqdm:
        if name not in bars:
            bars[name] = tqdm(total=total, desc=name, unit=unit, disable=True if args.quiet else None, leave=False)
        return bars[name]

    def on_load(what: str, done: int, total: int) -> None:
        bar(what, total, "clip").update(done - bars[what].n)

    def on_step(step: int, steps: int, loss: float) -> None:
        progress = bar("training", steps, "step")
        progress.n = step
        progress.set_postfix(loss=f"{loss:.3f}", refresh=False)
        progress.refresh()

    try:
        report = train_clap(args.out, settings, args.resume, on_step, on_load)
    finally:
        for b in bars.values():
            b.close()
    print(format_report(report))
    print(f"weights: {args.out / ENCODER_DIR}  report: {args.out / 'report.json'}, {args.out / 'report.md'}")
    return 0
