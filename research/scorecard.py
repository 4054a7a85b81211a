"""``python -m research scorecard``: the model card's tables and bar checks, in Markdown, from eval reports.

Each OUT folder is one model's ``scripts/score_default_model.sh`` output (``<test set>.json`` from
``soundsift eval --json``).  The scorecard lists every test set scored (mean SDRi, absent-query level,
paraphrase gap per model), then each bar of ``scorecard_bars.toml`` with every model's value and
whether it is met, and with ``--per-class`` each test set's classes.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from research.scorecard_bars import Bars, describe_target, load_bars, measure, outcome_cell
from research.scorecard_reports import ModelScores, SetReport, class_means, load_model_scores
from soundsift.errors import SoundsiftError
from soundsift.publishing import write_text_atomic

NONE = "—"


def add_scorecard_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``scorecard`` on the research command."""
    p = sub.add_parser("scorecard", help="the model card's tables and bar checks (Markdown) from eval reports")
    p.add_argument("outs", nargs="+", type=Path, metavar="OUT",
                   help="a model's folder of eval reports (<test set>.json), as scripts/score_default_model.sh writes")
    p.add_argument("--names", nargs="+", default=None, metavar="NAME", help="a column name per OUT (default: folder names)")
    p.add_argument("--per-class", action="store_true", help="add a table of classes per test set")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="FILE.md", help="write here instead of printing")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    bars = load_bars()
    models = load_models(args.outs, args.names, bars.sets)
    emit_markdown(scorecard(models, bars, per_class=args.per_class), args.output)
    return 0


def emit_markdown(text: str, output: Path | None) -> None:
    """Print a Markdown table, or write it atomically to ``output`` and say so (the lab's ``-o`` option)."""
    if output is None:
        print(text, end="")
    else:
        write_text_atomic(output, text)
        print(f"wrote {output}")


def load_models(outs: Sequence[Path], names: Sequence[str] | None, set_names: Sequence[str]) -> list[ModelScores]:
    """Every OUT folder's reports; a missing report is a one-line note on stderr, no report at all an error."""
    if names is not None and len(names) != len(outs):
        raise SoundsiftError(f"--names gives {len(names)} names for {len(outs)} OUT folders")
    models = [load_model_scores(out, name, set_names) for out, name in zip(outs, names or _default_names(outs))]
    for out, model in zip(outs, models):
        for set_name in model.missing:
            print(f"note: {out / f'{set_name}.json'} not found, skipped", file=sys.stderr)
    if not any(model.sets for model in models):
        raise SoundsiftError(f"no eval reports ({', '.join(f'{s}.json' for s in set_names)}) in "
                             f"{', '.join(map(str, outs))}")
    return models


def _default_names(outs: Sequence[Path]) -> list[str]:
    """Folder names, or the paths as given when two folders share a name."""
    names = [out.name or str(out) for out in outs]
    return names if len(set(names)) == len(names) else [str(out) for out in outs]


def scorecard(models: Sequence[ModelScores], bars: Bars, per_class: bool = False) -> str:
    """The whole scorecard as Markdown."""
    parts = [overview(models, bars.sets), bar_checks(models, bars)]
    if per_class:
        parts += [class_table(models, s) for s in bars.sets if any(s in m.sets for m in models)]
    return "\n".join(parts)


def overview(models: Sequence[ModelScores], set_names: Sequence[str]) -> str:
    """A row per test set scored by any model; per model: mean SDRi (n stems), absent-query level, paraphrase gap."""
    header = ["test set"] + [f"{m.name}: {col}" for m in models for col in ("SDRi dB (n)", "absent dB", "gap dB")]
    rows = [[s] + [cell for m in models for cell in _overview_cells(m.sets.get(s))]
            for s in set_names if any(s in m.sets for m in models)]
    return ("## Scores by test set\n\nSDRi: mean over the stems (n stems). Absent: median level of queries for a class "
            "the mixture lacks, in dB re mixture. Gap: mean SDRi by label minus by held-out paraphrase.\n\n"
            + markdown_table(header, rows))


def _overview_cells(report: SetReport | None) -> list[str]:
    if report is None:
        return [NONE] * 3
    mean, n = report.mean_sdri()
    absent = report.absent_median()
    return [_db(mean, f" ({n})"), _db(absent), NONE if report.gap_db is None else f"{report.gap_db:+.2f}"]


def bar_checks(models: Sequence[ModelScores], bars: Bars) -> str:
    """A row per bar: its target and every model's value and verdict."""
    header = ["bar", "target"] + [m.name for m in models]
    rows = [[bar.name, describe_target(bar)] + [outcome_cell(bar, measure(bar, m)) for m in models]
            for bar in bars.bars]
    return "## Bars of the default model\n\n" + markdown_table(header, rows)


def class_table(models: Sequence[ModelScores], set_name: str) -> str:
    """One test set's classes: stem count and every model's mean SDRi, best first by the last model's score."""
    means = [class_means(m.sets[set_name].stems if set_name in m.sets else ()) for m in models]
    classes = sorted({label for m in means for label in m}, key=lambda label: _sort_key(means[-1].get(label)))
    rows = [[label, _counts([m[label][1] for m in means if label in m])]
            + [_db(m[label][0]) if label in m else NONE for m in means] for label in classes]
    return f"## Classes of {set_name}\n\n" + markdown_table(["class", "n"] + [f"{m.name}: SDRi dB" for m in models], rows)


def _sort_key(score: tuple[float, int] | None) -> tuple[bool, float]:
    """Classes the last model scored, best first, then the rest."""
    return (score is None, -score[0] if score is not None else 0.0)


def _counts(counts: Sequence[int]) -> str:
    return "/".join(map(str, dict.fromkeys(counts)))


def _db(value: float | None, suffix: str = "") -> str:
    return NONE if value is None else f"{value:.2f}{suffix}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (cells' ``|`` escaped), with a blank line after it."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header))] + [line(r) for r in rows]) + "\n"
