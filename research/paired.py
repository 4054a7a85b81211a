"""``python -m research paired``: two models' eval reports of one test set compared stem by stem.

Both reports must score the same stems (one test set, limit and kind of query, as ``soundsift eval --json``
writes them). Each stem's SDRi difference (B − A) is summarised per group of stems: its mean, its median, a
seeded bootstrap 95% interval of the mean and how many stems B scores higher, so that a gap between two
training choices can be told from the spread of the stems. With ``--held-out`` the groups are all stems,
the seen and the held-out classes, and each held-out class.
"""
from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from research.scorecard import emit_markdown
from research.scorecard_reports import SetReport, read_report
from soundsift.errors import SoundsiftError

RESAMPLES = 10_000


@dataclass(frozen=True)
class Difference:
    """The paired SDRi differences (B − A) of one group of stems, summarised."""

    group: str
    count: int
    mean: float
    median: float
    low: float
    high: float
    b_better: int


def add_paired_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``paired`` on the research command."""
    p = sub.add_parser("paired", help="two eval reports of one test set compared stem by stem (B − A, bootstrap interval)")
    p.add_argument("a", type=Path, metavar="A.json", help="the reference model's report (soundsift eval --json)")
    p.add_argument("b", type=Path, metavar="B.json", help="the compared model's report, of the same stems")
    p.add_argument("--names", nargs=2, default=("A", "B"), metavar=("A", "B"), help="what to call the two models")
    p.add_argument("--held-out", nargs="+", default=(), metavar="CLASS", help="also compare seen and held-out classes")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="FILE.md", help="write here instead of printing")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    rows = compare(read_report(args.a), read_report(args.b), args.held_out, args.seed, (str(args.a), str(args.b)))
    emit_markdown(paired_table(rows, args.names), args.output)
    return 0


def compare(a: SetReport, b: SetReport, held_out: Sequence[str] = (), seed: int = 0,
            paths: tuple[str, str] = ("A", "B")) -> list[Difference]:
    """The per-group summaries of B − A over the stems both reports score (raises when they score different stems)."""
    diffs = paired_differences(a, b, paths)
    groups: list[tuple[str, list[float]]] = [("all", [d for _, d in diffs])]
    if held_out:
        groups.append(("seen", [d for label, d in diffs if label not in held_out]))
        groups.append(("held-out", [d for label, d in diffs if label in held_out]))
        groups += [(f"held-out: {c}", [d for label, d in diffs if label == c]) for c in held_out]
    rng = np.random.default_rng(seed)
    return [summarise(name, values, rng) for name, values in groups if values]


def paired_differences(a: SetReport, b: SetReport, paths: tuple[str, str]) -> list[tuple[str, float]]:
    """(class, SDRi of B − SDRi of A) per stem, stems matched by mixture and class."""
    keyed_a, keyed_b = _keyed(a, paths[0]), _keyed(b, paths[1])
    if keyed_a.keys() != keyed_b.keys():
        only = len(keyed_a.keys() - keyed_b.keys()) + len(keyed_b.keys() - keyed_a.keys())
        raise SoundsiftError(f"{paths[0]} and {paths[1]} score different stems ({only} stems in one only): "
                             "compare reports of the same test set, limit and queries")
    return [(label, keyed_b[(mixture, label)] - sdri) for (mixture, label), sdri in keyed_a.items()]


def _keyed(report: SetReport, path: str) -> dict[tuple[str, str], float]:
    if "" in report.mixtures or len(report.mixtures) != len(report.stems):
        raise SoundsiftError(f"{path}: its scores do not name their mixtures, so stems cannot be paired")
    keyed = {(mixture, label): sdri for mixture, (label, sdri) in zip(report.mixtures, report.stems)}
    if len(keyed) != len(report.stems):
        raise SoundsiftError(f"{path}: a mixture scores one class twice, so stems cannot be paired")
    return keyed


def summarise(group: str, values: Sequence[float], rng: np.random.Generator) -> Difference:
    """Mean, median, bootstrap 95% interval of the mean and B's wins of one group's differences."""
    data = np.asarray(values, dtype=np.float64)
    means = data[rng.integers(0, len(data), size=(RESAMPLES, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Difference(group, len(data), float(data.mean()), statistics.median(values), float(low), float(high),
                      int((data > 0).sum()))


def paired_table(rows: Sequence[Difference], names: Sequence[str] = ("A", "B")) -> str:
    """Markdown table of the summaries, SDRi differences in dB."""
    a, b = names
    lines = [f"| stems | count | mean {b} − {a} (dB) | median | 95% interval of the mean | {b} higher |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.group} | {r.count} | {r.mean:+.2f} | {r.median:+.2f} | {r.low:+.2f} to {r.high:+.2f} | "
              f"{r.b_better} of {r.count} |" for r in rows]
    return "\n".join(lines) + "\n"
