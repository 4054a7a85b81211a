"""Reading the ``soundsift eval --json`` reports a scorecard compares: one folder of ``<test set>.json`` per model.

Only what the scorecard uses is checked and kept (each stem's class and SDRi, the absent-query levels,
the paraphrase gap), so a malformed report is one clear error naming the file, not a traceback later.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from soundsift.errors import SoundsiftError, os_problem


@dataclass(frozen=True)
class SetReport:
    """One test set's scores for one model: (class, SDRi) per stem, absent-query levels, paraphrase gap,
    and each stem's mixture ('' where the report does not name it), which pairs stems across models."""

    stems: tuple[tuple[str, float], ...]
    absent_levels: tuple[float, ...] | None = None
    gap_db: float | None = None
    mixtures: tuple[str, ...] = ()

    def mean_sdri(self, labels: Sequence[str] | None = None) -> tuple[float | None, int]:
        """Mean SDRi and stem count, over the stems of ``labels`` only when given (None without stems)."""
        values = [sdri for label, sdri in self.stems if labels is None or label in labels]
        return (statistics.fmean(values) if values else None), len(values)

    def absent_median(self) -> float | None:
        """Median absent-query level in dB re mixture (None when absent queries were not scored)."""
        return statistics.median(self.absent_levels) if self.absent_levels else None


@dataclass(frozen=True)
class ModelScores:
    """One model's reports by test set name; ``missing`` names the expected sets that have no report."""

    name: str
    sets: dict[str, SetReport]
    missing: tuple[str, ...]


def class_means(stems: Iterable[tuple[str, float]]) -> dict[str, tuple[float, int]]:
    """Mean SDRi and stem count of each class among ``stems`` ((class, SDRi) pairs)."""
    by_class: dict[str, list[float]] = defaultdict(list)
    for label, sdri in stems:
        by_class[label].append(sdri)
    return {label: (statistics.fmean(values), len(values)) for label, values in by_class.items()}


def load_model_scores(folder: Path, name: str, set_names: Sequence[str]) -> ModelScores:
    """Read ``folder/<set>.json`` for each of ``set_names``; a set without a file is listed as missing."""
    if not folder.is_dir():
        raise SoundsiftError(f"{folder}: not a folder of eval reports")
    sets, missing = {}, []
    for set_name in set_names:
        path = folder / f"{set_name}.json"
        if path.exists():
            sets[set_name] = read_report(path)
        else:
            missing.append(set_name)
    return ModelScores(name, sets, tuple(missing))


def read_report(path: Path) -> SetReport:
    """Parse one ``soundsift eval --json`` report, raising one-line errors that name ``path``."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SoundsiftError(f"{path}: cannot read ({os_problem(exc)})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SoundsiftError(f"{path}: not valid JSON ({exc})") from None
    try:
        return _parse(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise SoundsiftError(f"{path}: not a soundsift eval report ({_reason(exc)})") from None


def _parse(payload: object) -> SetReport:
    if not isinstance(payload, dict):
        raise TypeError("the file holds no JSON object")
    scores = _list(payload["scores"], "scores")
    stems = tuple((_text(s["label"]), _number(s["sdri"])) for s in scores)
    mixtures = tuple(_text(s["mixture"]) if "mixture" in s else "" for s in scores)
    absent = _section(payload, "absent")
    levels = None if absent is None else tuple(_number(s["level_db"]) for s in _list(absent["scores"], "absent"))
    gap = _section(payload, "paraphrase_gap")
    return SetReport(stems, levels, None if gap is None else _number(gap["gap_db"]), mixtures)


def _section(payload: dict, key: str) -> dict | None:
    """An optional section of the report (eval writes it only when that check was run)."""
    value = payload.get(key)
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"'{key}' is not a JSON object")
    return value


def _list(value: object, key: str) -> list:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"'{key}' is not a list of scores")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"a class label is {value!r}")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a score is {value!r}, not a number")
    return float(value)


def _reason(exc: Exception) -> str:
    return f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else str(exc)
