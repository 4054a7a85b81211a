"""Calibrate a model's query-confidence threshold on a labelled list of queries and record it.

Each row of the CSV (columns ``query`` and ``class``) names the sound class its query means,
in the label spelling of the training corpora ("dog barking"; several separated by ``|`` for a
query any of them answers, such as "man speaking|woman speaking"; empty for a query that names
no class, such as "reverb" or "qwertyuiop").  A query is known when one of its classes is in the
model's vocabulary, so the same list serves every model.  Each query is scored against the
vocabulary (:mod:`soundsift.confidence`); the threshold with the fewest false alarms (known
queries warned about) plus misses (unknown queries let through) is written into the model's
``vocabulary.json``, and a Markdown table of both rates is printed.  A two-fold check fits the
threshold on odd rows and measures it on even rows, and the other way round.  Usage:

    python scripts/calibrate_confidence.py [--model default] [--queries tests/data/confidence_queries.csv]
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from soundsift.confidence import ConfidenceScorer, calibrate, error_rates
from soundsift.core.store import resolve_model
from soundsift.engines import load_separator
from soundsift.vocabulary import Vocabulary, write_vocabulary

ROOT = Path(__file__).resolve().parent.parent
GRID = (0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70)
COLUMNS = ("query", "class")


def labelled_queries(path: Path, vocabulary: Vocabulary) -> tuple[list[str], np.ndarray]:
    """The queries of the CSV and, for each, whether ``vocabulary`` knows one of the classes it names."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in COLUMNS if name not in (reader.fieldnames or ())]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SystemExit(f"{path}: cannot read the queries ({exc})") from None
    if missing:
        raise SystemExit(f"{path}: missing column {', '.join(missing)} (a query list has the columns {', '.join(COLUMNS)})")
    known = [any(vocabulary.knows(label.strip()) for label in (row["class"] or "").split("|") if label.strip())
             for row in rows]
    return [row["query"] for row in rows], np.array(known, dtype=bool)


def _table(scores: np.ndarray, known: np.ndarray, chosen: float) -> list[str]:
    lines = ["| threshold | false alarms (known warned) | misses (unknown not warned) |", "| --- | --- | --- |"]
    for threshold in sorted({*GRID, round(chosen, 3)}):
        fa, miss = error_rates(scores, known, threshold)
        mark = " **(chosen)**" if threshold == round(chosen, 3) else ""
        lines.append(f"| {threshold:.3f}{mark} | {fa:.1%} ({round(fa * known.sum())}/{known.sum()}) "
                     f"| {miss:.1%} ({round(miss * (~known).sum())}/{(~known).sum()}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "data" / "confidence_queries.csv")
    args = parser.parse_args()
    separator = load_separator(args.model, "onnx")
    if separator.vocabulary is None:
        raise SystemExit(f"{args.model}: the model has no vocabulary.json to calibrate")
    queries, known = labelled_queries(args.queries, separator.vocabulary)
    scorer = ConfidenceScorer(separator.vocabulary, separator.confidence_vectors)
    scores = np.array([confidence.score for confidence in scorer.score(queries)])
    threshold = calibrate(scores, known)
    fa, miss = error_rates(scores, known, threshold)
    print(f"{len(queries)} queries ({known.sum()} known, {(~known).sum()} unknown); threshold {threshold:.3f}: "
          f"false alarms {fa:.1%}, misses {miss:.1%}")
    print("\n".join(_table(scores, known, threshold)))
    for fit, test in ((slice(1, None, 2), slice(0, None, 2)), (slice(0, None, 2), slice(1, None, 2))):
        half = calibrate(scores[fit], known[fit])
        hfa, hmiss = error_rates(scores[test], known[test], half)
        print(f"two-fold check: threshold {half:.3f} fitted on one half -> false alarms {hfa:.1%}, misses {hmiss:.1%} "
              "on the other")
    errors = [f"{q} ({s:.3f}, {'known' if k else 'unknown'})" for q, s, k in zip(queries, scores, known)
              if (s < threshold) == k]
    print("on the wrong side: " + "; ".join(errors))
    record = {"queries": args.queries.name, "known": int(known.sum()), "unknown": int((~known).sum()),
              "false_alarms": round(fa, 4), "misses": round(miss, 4)}
    print(write_vocabulary(resolve_model(args.model), separator.vocabulary.with_threshold(round(threshold, 4), record)))


if __name__ == "__main__":
    main()
