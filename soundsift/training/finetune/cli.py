"""``soundsift finetune``: argument parsing and console output for fine-tuning on a library."""
from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from soundsift.cli_args import fraction, positive_int, positive_number, positive_seconds
from soundsift.core.store import DEFAULT_MODEL

if TYPE_CHECKING:
    from soundsift.training.finetune.run import FinetuneSettings


def add_finetune_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``finetune`` command."""
    p = sub.add_parser("finetune", help="adapt a separator to your own recordings, from captions alone",
                       description="Fine-tune a separator on a folder of your recordings (mixtures with captions; "
                                   "no isolated stems needed) with the weak method, and save it as a named model.")
    p.add_argument("library", type=Path, metavar="LIBRARY_DIR", help="folder of recordings (read only, never changed)")
    p.add_argument("--name", required=True, help="name of the new model (then: soundsift separate --model NAME)")
    p.add_argument("--captions", default="best", metavar="SOURCE",
                   help="best (default: per file, sidecar, then tags, then file name), sidecar, tags, filenames, "
                        "auto (zero-shot tags from the compact CLAP), or a manifest .csv/.jsonl with path,caption")
    p.add_argument("--vocabulary", type=Path, default=None, metavar="FILE",
                   help="phrases for --captions auto, one per line (default: the bundled default model's classes)")
    p.add_argument("--base", default=DEFAULT_MODEL, metavar="NAME_OR_PATH",
                   help=f"model to start from (default: {DEFAULT_MODEL})")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="training steps (default: 500; with --resume, the run's own, or more to extend it)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="mixtures per step (default: 4)")
    p.add_argument("--seconds", type=positive_seconds, default=3.0, help="excerpt length in seconds (default: 3)")
    p.add_argument("--lr", type=positive_number, default=1e-4, help="learning rate (default: 1e-4)")
    p.add_argument("--holdout", type=fraction("holdout", include_high=False), default=0.15, metavar="FRACTION",
                   help="share of each caption's files held out for scoring (default: 0.15)")
    p.add_argument("--test-mixtures", type=positive_int, default=16, metavar="N",
                   help="held-out mixtures scored (default: 16)")
    p.add_argument("--validate-every", type=positive_int, default=100, metavar="STEPS")
    p.add_argument("--checkpoint-every", type=positive_int, default=25, metavar="STEPS")
    p.add_argument("--replay", action="append", default=[], type=Path, metavar="CORPUS_DIR",
                   help="corpus folder of the base model's training data to replay (repeatable; default: the "
                        "default model's corpora when they are in ./data)")
    p.add_argument("--protect", default=None, metavar="LIST",
                   help="how the model keeps what it knew: a comma-separated choice of distill (match the base "
                        "model on sounds your captions do not name), l2sp (stay near the base weights) and replay "
                        "(train on known sounds too), or none (default: replay)")
    p.add_argument("--check-mixtures", type=int, default=16, metavar="N",
                   help="mixtures of known sounds scored before and after for the forgetting report (default: 16; "
                        "0: no report)")
    p.add_argument("--replay-fraction", type=fraction("replay fraction", include_high=False), default=0.25,
                   metavar="FRACTION",
                   help="share of each batch drawn from the replay data (default: 0.25)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", type=Path, default=None, metavar="DIR",
                   help="where checkpoints and logs go (default: soundsift's data folder / finetune / NAME)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N", help="CPU threads for torch")
    p.add_argument("--dry-run", action="store_true", help="show the captions and the plan, train nothing")
    p.add_argument("--resume", action="store_true", help="continue the run named NAME from its last checkpoint")
    p.add_argument("--restart", action="store_true",
                   help="start the run named NAME over: remove what an earlier run wrote in its run folder first")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_finetune_command)


def _settings(args: argparse.Namespace, run_dir: Path) -> FinetuneSettings:
    from soundsift.training.finetune.protect_names import DEFAULT_PROTECT, parse_protect
    from soundsift.training.finetune.run import FinetuneSettings, saved_steps

    steps = args.steps or (saved_steps(run_dir) if args.resume else None) or 500
    settings = FinetuneSettings(
        library=str(args.library.expanduser().resolve()), name=args.name, captions=args.captions, base=args.base,
        steps=steps, batch_size=args.batch_size, seconds=args.seconds, lr=args.lr, holdout=args.holdout,
        test_mixtures=args.test_mixtures, replay=tuple(str(p) for p in args.replay),
        replay_fraction=args.replay_fraction, seed=args.seed, validate_every=args.validate_every,
        checkpoint_every=args.checkpoint_every, vocabulary=None if args.vocabulary is None else str(args.vocabulary),
        protect=DEFAULT_PROTECT if args.protect is None else parse_protect(args.protect),
        check_mixtures=args.check_mixtures,
    )
    settings.check()
    return settings


def run_finetune_command(args: argparse.Namespace) -> int:
    """Show the captions; then (unless --dry-run) fine-tune, reporting progress and held-out scores."""
    import torch
    from tqdm import tqdm

    from soundsift.training.finetune.run import FinetuneEvent, check_run_dir, finetune, finetune_runs_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = args.run_dir or finetune_runs_dir() / args.name
    settings = _settings(args, run_dir)
    if args.dry_run:
        return _dry_run(settings, run_dir)
    check_run_dir(run_dir, settings.library)
    bar = tqdm(total=settings.steps, desc=f"fine-tuning {settings.name}", unit="step", disable=True if args.quiet else None)

    def report(event: FinetuneEvent) -> None:
        if event.kind == "step":
            bar.n = event.step
            bar.set_postfix(loss=f"{event.value:.4f}")
        elif event.kind == "score":
            who = "base model" if event.text == "base" else f"step {event.step}"
            bar.write(f"held-out SDRi ({who}): {event.value:.2f} dB")
        elif event.kind in ("message", "captions"):
            bar.write(event.text)

    result = finetune(settings, run_dir, resume=args.resume, restart=args.restart, device=args.device, on_event=report)
    bar.close()
    if result.status == "stopped":
        print(f"soundsift: fine-tuning stopped at step {result.step} of {settings.steps}; the checkpoint is saved in "
              f"{result.run_dir}; resume with --resume: {_resume_command(args)}", file=sys.stderr)
        return 130
    base = "n/a" if result.base_sdri is None else f"{result.base_sdri:.2f} dB"
    best = "n/a" if result.best_sdri is None or math.isnan(result.best_sdri) else f"{result.best_sdri:.2f} dB"
    print(f"saved model '{settings.name}' to {result.model_dir} after {result.step} steps; "
          f"held-out SDRi {best} (base model {base}); run folder {result.run_dir}")
    print(f"use it: soundsift separate FILE -q QUERY --model {settings.name}")
    return 0


def _dry_run(settings: FinetuneSettings, run_dir: Path) -> int:
    """Check everything a run needs (library, captions, base model, run folder, the train extra); train nothing."""
    from soundsift.training.evaluate import load_bss_eval
    from soundsift.training.finetune.captions import format_caption_table
    from soundsift.training.finetune.run import check_base, check_run_dir, describe_plan, prepare

    check_run_dir(run_dir, settings.library)
    plan = prepare(settings, on_event=lambda e: print(e.text))
    print(format_caption_table(plan.table))
    print(describe_plan(plan))
    print(f"protect: {', '.join(settings.protect) or 'none'} (--protect)")
    print(f"held out: {', '.join(c.relative for c in plan.heldout) or 'none'}")
    print(check_base(settings.base))
    load_bss_eval("fine-tuning")
    print(f"dry run: nothing trained; the run would go to {run_dir}")
    return 0


def _resume_command(args: argparse.Namespace) -> str:
    """The command line that resumes this run."""
    words = ["soundsift", "finetune", str(args.library), "--name", args.name]
    if args.run_dir is not None:
        words += ["--run-dir", str(args.run_dir)]
    return shlex.join([*words, "--resume"])
