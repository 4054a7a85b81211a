"""The default model's bars (``scorecard_bars.toml``): reading them and measuring one model's reports against them."""
from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from research.scorecard_reports import ModelScores, class_means
from soundsift.errors import SoundsiftError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BARS_FILE = Path(__file__).with_name("scorecard_bars.toml")
TARGETS = {"at_least": "≥", "above": ">", "at_most": "≤"}


@dataclass(frozen=True)
class Bar:
    """One bar: what it measures over which test sets, and the target in dB (``op`` is a key of TARGETS)."""

    name: str
    measure: str
    sets: tuple[str, ...]
    op: str
    target: float
    labels: tuple[str, ...] | None = None
    min_stems: int = 1

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the target."""
        return {"at_least": value >= self.target, "above": value > self.target,
                "at_most": value <= self.target}[self.op]

    def shortfall(self, value: float) -> float:
        """How many dB ``value`` is on the wrong side of the target."""
        return value - self.target if self.op == "at_most" else self.target - value


@dataclass(frozen=True)
class Outcome:
    """A bar measured on one model: the value (None without data), a short detail, the sets it lacked."""

    value: float | None
    detail: str = ""
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bars:
    """The test sets in table order and the bars, as the TOML file lists them."""

    sets: tuple[str, ...]
    bars: tuple[Bar, ...]


def load_bars(path: Path = BARS_FILE) -> Bars:
    """Read the test sets and bars from ``path``; a bad entry is one error naming the file and the bar."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sets = tuple(data["sets"])
        return Bars(sets, tuple(_bar(entry, sets) for entry in data["bar"]))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SoundsiftError(f"{path}: bad scorecard bars ({exc})") from None


def _bar(entry: dict, all_sets: tuple[str, ...]) -> Bar:
    ops = [op for op in TARGETS if op in entry]
    if entry.get("measure") not in MEASURES or len(ops) != 1:
        raise ValueError(f"bar {entry.get('name')!r} needs a measure of {sorted(MEASURES)} and one of {list(TARGETS)}")
    labels = entry.get("labels")
    return Bar(entry["name"], entry["measure"], tuple(entry.get("sets", all_sets)), ops[0], float(entry[ops[0]]),
               None if labels is None else tuple(labels), int(entry.get("min_stems", 1)))


def measure(bar: Bar, scores: ModelScores) -> Outcome:
    """Measure ``bar`` on one model's reports."""
    return MEASURES[bar.measure](bar, scores)


def verdict(bar: Bar, outcome: Outcome) -> str:
    """"met", "short by X dB", or why there is no verdict (no data, or some of the bar's sets not scored)."""
    if outcome.value is None:
        return "not measured"
    if outcome.missing:
        return f"incomplete (no {', '.join(outcome.missing)})"
    return "met" if bar.met(outcome.value) else f"short by {bar.shortfall(outcome.value):.2f} dB"


def _missing(bar: Bar, scores: ModelScores, has: Callable = lambda report: True) -> tuple[str, ...]:
    return tuple(s for s in bar.sets if s not in scores.sets or not has(scores.sets[s]))


def _stems(bar: Bar, scores: ModelScores) -> list[tuple[str, float]]:
    return [stem for s in bar.sets if s in scores.sets for stem in scores.sets[s].stems
            if bar.labels is None or stem[0] in bar.labels]


def _mean_sdri(bar: Bar, scores: ModelScores) -> Outcome:
    values = [sdri for _, sdri in _stems(bar, scores)]
    return Outcome(statistics.fmean(values) if values else None, f"n {len(values)}", _missing(bar, scores))


def _worst_class_sdri(bar: Bar, scores: ModelScores) -> Outcome:
    means = {label: mn for label, mn in class_means(_stems(bar, scores)).items() if mn[1] >= bar.min_stems}
    if not means:
        return Outcome(None, missing=_missing(bar, scores))
    failing = sorted((mean, label, n) for label, (mean, n) in means.items() if not bar.met(mean))
    detail = (f"fails: {', '.join(f'{label} {mean:.2f} (n {n})' for mean, label, n in failing)}"
              if failing else f"{len(means)} classes")
    return Outcome(min(mean for mean, _ in means.values()), detail, _missing(bar, scores))


def _absent_median(bar: Bar, scores: ModelScores) -> Outcome:
    levels = [v for s in bar.sets if s in scores.sets for v in scores.sets[s].absent_levels or ()]
    return Outcome(statistics.median(levels) if levels else None, f"n {len(levels)}",
                   _missing(bar, scores, lambda report: report.absent_levels is not None))


def _worst_paraphrase_gap(bar: Bar, scores: ModelScores) -> Outcome:
    gaps = {s: scores.sets[s].gap_db for s in bar.sets if s in scores.sets and scores.sets[s].gap_db is not None}
    if not gaps:
        return Outcome(None, missing=_missing(bar, scores))
    worst = max(gaps, key=lambda s: abs(gaps[s]))
    return Outcome(abs(gaps[worst]), f"{worst} {gaps[worst]:+.2f}, {len(gaps)} sets", _missing(bar, scores))


MEASURES: dict[str, Callable[[Bar, ModelScores], Outcome]] = {
    "mean_sdri": _mean_sdri, "worst_class_sdri": _worst_class_sdri,
    "absent_median": _absent_median, "worst_paraphrase_gap": _worst_paraphrase_gap,
}


def describe_target(bar: Bar) -> str:
    """The target as the bars table shows it, e.g. "≥ 8 dB"."""
    return f"{TARGETS[bar.op]} {bar.target:g} dB"


def outcome_cell(bar: Bar, outcome: Outcome) -> str:
    """One model's cell of the bars table: value, detail and verdict."""
    if outcome.value is None:
        return verdict(bar, outcome)
    return f"{outcome.value:.2f} ({outcome.detail}): {verdict(bar, outcome)}"
