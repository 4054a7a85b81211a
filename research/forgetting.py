"""``python -m research forgetting``: the fine-tuning protection table of docs/finetuning.md in one command.

For each ``--protect`` setting the product's fine-tuning runs on a library (its own run folder under OUT;
a finished setting is skipped on a rerun, an unfinished one resumes), and the base model and every
fine-tuned one are scored on the real test sets' domains, leaving out each mixture that has a source from
one of the library's packages (the library's files are test clips there).  The eval reports
(``OUT/eval/<model>/real-<domain>.json``) are those ``python -m research scorecard`` reads; ``OUT/table.md``
sums it all up.  ``python -m research forgetting library -o DIR`` builds the library itself.
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from research.data.realtest import DOMAINS as REALTEST_DOMAINS
from research.forgetting_library import LibraryRecipe, build_library
from soundsift.cli_args import positive_int
from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import SoundsiftError
from soundsift.publishing import write_text_atomic

DOMAINS = tuple(REALTEST_DOMAINS)  # the real test set's domains, in the order its builder makes them
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Measurement:
    """What one ``forgetting`` run measures; ``finetune`` holds further FinetuneSettings fields (tests shrink them)."""

    library: Path
    packages: tuple[str, ...]
    realtest: Path
    settings: tuple[tuple[str, ...], ...]
    out: Path
    steps: int = 500
    limit: int | None = 100
    base: str = DEFAULT_MODEL
    domains: tuple[str, ...] = DOMAINS
    finetune: dict[str, Any] = field(default_factory=dict)


def add_forgetting_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``forgetting`` (and its ``library`` step) on the research command."""
    p = sub.add_parser("forgetting", help="fine-tune with each --protect setting and measure gain and forgetting",
                       description="Without STEP: the measurement (OUT/table.md). 'library': build the library first.")
    p.add_argument("--library", type=Path, metavar="DIR", help="the library to fine-tune on")
    p.add_argument("--packages", default=",".join(LibraryRecipe().packages), metavar="LIST",
                   help="comma-separated packages the library was built from; real test mixtures with a source "
                        "from one of them are left out (default: %(default)s)")
    p.add_argument("--realtest", type=Path, default=Path("data/realtest"), metavar="DIR",
                   help="the real-recording test set (default: %(default)s)")
    p.add_argument("--protect", default="none,distill,l2sp,replay,distill+l2sp+replay", metavar="LIST",
                   help="comma-separated settings, each 'none' or protections joined by '+' (default: %(default)s)")
    p.add_argument("--steps", type=positive_int, default=500, metavar="N", help="steps per run (default: 500)")
    p.add_argument("--out", type=Path, default=Path("runs/forgetting"), metavar="DIR",
                   help="run folders, models, eval reports and table.md (default: %(default)s)")
    p.add_argument("--limit", type=positive_int, default=100, metavar="N",
                   help="the first N mixtures of each domain, before leaving some out (default: 100)")
    p.add_argument("--base", default=DEFAULT_MODEL, help="the model to fine-tune (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N", help="CPU threads for torch (default: 1)")
    p.set_defaults(handler=_run)
    steps = p.add_subparsers(dest="step", metavar="STEP")
    lib = steps.add_parser("library", help="build the library from data/cache/debian and data/realspeech")
    lib.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="the library folder to write")
    lib.add_argument("--debian", type=Path, default=LibraryRecipe.debian, metavar="DIR",
                     help="unpacked Debian packages (default: %(default)s)")
    lib.add_argument("--realspeech", type=Path, default=LibraryRecipe.realspeech, metavar="DIR",
                     help="the realspeech corpus (default: %(default)s)")


def _run(args: argparse.Namespace) -> int:
    if args.step == "library":
        built = build_library(args.output, LibraryRecipe(debian=args.debian, realspeech=args.realspeech))
        print(f"{'wrote' if built else 'already there, left as it is:'} {args.output}")
        return 0
    if args.library is None:
        raise SoundsiftError("--library DIR is needed (build one with: python -m research forgetting library -o DIR)")
    import torch

    torch.set_num_threads(args.threads)
    plan = Measurement(library=args.library, packages=_names(args.packages), realtest=args.realtest,
                       settings=tuple(parse_setting(s) for s in args.protect.split(",")), out=args.out,
                       steps=args.steps, limit=args.limit, base=args.base)
    text = measure(plan, _command(args), print)
    print(text, end="")
    return 0


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def parse_setting(text: str) -> tuple[str, ...]:
    """``"distill+l2sp"`` -> ('distill', 'l2sp'); ``"none"`` -> ()."""
    from soundsift.training.finetune.protect_names import parse_protect

    return parse_protect(text.replace("+", ","))


def setting_label(protect: Sequence[str]) -> str:
    """A setting's name in folders and model names: ``distill-l2sp``, or ``none``."""
    return "-".join(protect) or "none"


def _command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "research", "forgetting", "--library", str(args.library), "--packages", args.packages,
             "--realtest", str(args.realtest), "--protect", args.protect, "--steps", str(args.steps),
             "--out", str(args.out), "--limit", str(args.limit), "--base", args.base, "--threads", str(args.threads)]
    return shlex.join(parts)


def measure(plan: Measurement, command: str, say: Callable[[str], None] = lambda line: None) -> str:
    """Run every setting, score every model on the real test sets, write and return ``OUT/table.md``."""
    if not plan.library.is_dir():
        raise SoundsiftError(f"{plan.library}: no such library folder "
                             "(build one with: python -m research forgetting library -o DIR)")
    testsets = {d: real_testset(plan.realtest, d, plan.limit, plan.packages) for d in plan.domains}
    base_real = score_model(plan.base, "base", testsets, plan.out, say)
    rows = []
    for protect in plan.settings:
        result = run_setting(plan, protect, say)
        tuned = score_model(result["model_dir"], setting_label(protect), testsets, plan.out, say)
        rows.append((protect, result, tuned))
    text = format_table(plan, rows, base_real, {d: len(t) for d, t in testsets.items()}, command)
    write_text_atomic(plan.out / "table.md", text)
    return text


def real_testset(realtest: Path, domain: str, limit: int | None, packages: Sequence[str]) -> list:
    """The first ``limit`` mixtures of ``domain``, less those with a source from one of ``packages``."""
    from soundsift.training import evaluate as ev
    from soundsift.training.data.manifest import read_manifest

    excluded = {e.path for e in read_manifest(realtest) if set(packages) & _sources(e.source)}
    return [m for m in ev.load_testset(realtest, limit, domain) if m.name not in excluded]


def _sources(text: str) -> set[str]:
    """A manifest's ``source`` field ("a; b") as a set of package names."""
    return {part.strip() for part in text.split(";") if part.strip()}


def run_setting(plan: Measurement, protect: tuple[str, ...], say: Callable[[str], None]) -> dict[str, Any]:
    """Fine-tune with one setting (resuming an unfinished run); a setting already finished is read, not rerun."""
    from soundsift.training.finetune.run import RUN_FILE, FinetuneSettings, finetune

    label = setting_label(protect)
    run_dir = plan.out / "runs" / label
    record = run_dir / RESULT_FILE
    if record.is_file():
        finished = json.loads(record.read_text(encoding="utf-8"))
        if finished.get("steps") != plan.steps:
            raise SoundsiftError(f"{record}: this setting was run for {finished.get('steps')} steps, not {plan.steps}; "
                                 "pick another --out")
        say(f"{label}: finished earlier, skipped")
        return finished
    settings = FinetuneSettings(library=str(plan.library), name=f"forgetting-{label}", base=plan.base,
                                steps=plan.steps, protect=protect, **plan.finetune)
    say(f"{label}: fine-tuning for {plan.steps} steps")
    start, resume = time.monotonic(), (run_dir / RUN_FILE).is_file()
    result = finetune(settings, run_dir, resume=resume, models_dir=plan.out / "models",
                      on_event=lambda e: say(f"{label}: {e.text}") if e.kind == "message" else None)
    if result.status != "done":
        raise SoundsiftError(f"{label}: the run stopped at step {result.step}; rerun the command to resume it")
    payload = {"protect": list(protect), "model_dir": str(result.model_dir),
               "wall_s": round(time.monotonic() - start, 1), "resumed": resume, **result.info}
    write_text_atomic(record, json.dumps(payload, indent=2) + "\n")
    return payload


def score_model(model: str | Path, name: str, testsets: dict[str, list], out: Path,
                say: Callable[[str], None]) -> dict[str, float | None]:
    """Mean SDRi of ``model`` per domain (None for a domain with no mixture left), from
    ``OUT/eval/<name>/real-<domain>.json``, written first when missing."""
    from soundsift.training import evaluate as ev

    means: dict[str, float | None] = {}
    separator = None
    for domain, testset in testsets.items():
        path = out / "eval" / name / f"real-{domain.replace(' ', '-')}.json"
        if not testset:
            means[domain] = None
            continue
        if _mixtures(path) != [m.name for m in testset]:
            from soundsift.separator import Separator

            say(f"{name}: scoring {len(testset)} mixtures of {domain}")
            separator = separator or Separator.load(model)
            scores = ev.evaluate(ev.separator_estimator(separator), testset, separator.config.stft)
            path.parent.mkdir(parents=True, exist_ok=True)
            ev.write_report(path, scores, ev.summarise(scores), {"model": str(model), "domain": domain,
                                                                 "mixtures": [m.name for m in testset]})
        means[domain] = statistics.fmean(s["sdri"] for s in json.loads(path.read_text(encoding="utf-8"))["scores"])
    return means


def _mixtures(report: Path) -> list[str] | None:
    """The mixtures an earlier eval report scored (None when there is none), so a changed test set is rescored."""
    try:
        return json.loads(report.read_text(encoding="utf-8"))["meta"]["mixtures"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def format_table(plan: Measurement, rows: Sequence[tuple[tuple[str, ...], dict, dict]],
                 base_real: dict[str, float | None], mixtures: dict[str, int], command: str) -> str:
    """The Markdown table: per setting, held-out SDRi and gain, known-sounds change, real test sets' changes."""
    domains = [d for d in plan.domains if base_real[d] is not None]
    first = rows[0][1] if rows else {}
    head = (["`--protect`", f"held-out SDRi (base {_db(first.get('base_heldout_sdri'))})", "gain",
             f"known sounds (base {_db(first.get('base_check_sdri'))})", "change"]
            + [f"{d} (base {_db(base_real[d])}, {mixtures[d]} mix.)" for d in domains]
            + ["real test sets: mean change", "wall time"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for protect, result, tuned in rows:
        changes = [tuned[d] - base_real[d] for d in domains]
        cells = [f"`{','.join(protect) or 'none'}`", _db(result.get("heldout_sdri")),
                 _db(_difference(result.get("heldout_sdri"), result.get("base_heldout_sdri")), signed=True),
                 _db(result.get("check_sdri")), _db(result.get("check_change_db"), signed=True)]
        cells += [_db(c, signed=True) for c in changes]
        wall = f"{result['wall_s'] / 60:.1f} min" + (" (after a resume)" if result.get("resumed") else "")
        cells += [_db(statistics.fmean(changes) if changes else None, signed=True), wall]
        lines.append("| " + " | ".join(cells) + " |")
    left_out = ", ".join(plan.packages) or "none"
    first_n = "every mixture" if plan.limit is None else f"the first {plan.limit} mixtures"
    return ("\n".join(lines) + f"\n\n{plan.steps} steps on {plan.library}; real test sets: {first_n} "
            f"of each domain less those with a source from {left_out}; "
            f"changes are SDRi of the fine-tuned model minus the base model's.\n\n```bash\n{command}\n```\n")


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _db(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    value = round(value, 2) + 0.0  # no "-0.00"
    return f"{value:+.2f} dB" if signed else f"{value:.2f} dB"
