"""Two query checks beside SDRi: how quiet queries for absent sounds are, and how far paraphrases fall behind labels.

Absent queries: each test mixture is also queried for a class that is in none of its stems
(the test set's own ``absent`` metadata when it has some; otherwise one class of the test
set sharing no label with the mixture's stems, picked by the mixture's name, so the choice
is the same for every model).  The score is the output level relative to the mixture,
10 log10(sum y^2 / sum x^2) in dB (floored at :data:`FLOOR_DB`); near silence is the
right answer, and the median over mixtures is reported.

Paraphrase gap: the mean SDRi of the stems queried by their label minus the mean SDRi of
the same stems queried by a held-out paraphrase (only stems whose class has one).
"""
from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from soundsift.training.evaluate import QUERY_TEMPLATE, Estimator, Score, TestMixture

FLOOR_DB = -120.0


@dataclass(frozen=True)
class AbsentScore:
    """The output level of one query for a class absent from a test mixture (dB re the mixture)."""

    mixture: str
    label: str
    query: str
    level_db: float


def level_db(estimate: np.ndarray, mixture: np.ndarray) -> float:
    """Energy of ``estimate`` relative to ``mixture`` in dB, floored at :data:`FLOOR_DB`."""
    ratio = float(np.sum(np.square(estimate, dtype=np.float64))) / max(float(np.sum(np.square(mixture, dtype=np.float64))), 1e-20)
    return max(FLOOR_DB, 10.0 * float(np.log10(max(ratio, 1e-30))))


def stem_tags(item: TestMixture) -> tuple[tuple[str, ...], ...]:
    """Each stem's labels (just its class when the test set gives no more)."""
    return item.tags or tuple((label,) for label in item.labels)


def class_tags(testset: Sequence[TestMixture]) -> dict[str, frozenset[str]]:
    """Every class of a test set with all the labels its stems carry."""
    tags: dict[str, set[str]] = {}
    for item in testset:
        for labels in stem_tags(item):
            tags.setdefault(labels[0], set()).update(labels)
    return {label: frozenset(t) for label, t in tags.items()}


def absent_classes(item: TestMixture, classes: dict[str, frozenset[str]]) -> tuple[str, ...]:
    """The test set's absent classes for ``item``, else one of ``classes`` (class -> its labels) sharing no
    label with its stems, picked by the mixture's name."""
    if item.absent:
        return item.absent
    present = {label for labels in stem_tags(item) for label in labels}
    candidates = sorted(c for c, tags in classes.items() if not tags & present)
    if not candidates:
        return ()
    key = int.from_bytes(hashlib.sha256(item.name.encode()).digest()[:8], "little")
    return (candidates[key % len(candidates)],)


def absent_levels(estimate: Estimator, testset: Sequence[TestMixture], template: str = QUERY_TEMPLATE,
                  progress: Callable[[int, int], None] | None = None) -> list[AbsentScore]:
    """Query every mixture for its absent classes (:func:`absent_classes`) and measure the output levels."""
    classes = class_tags(testset)
    scores: list[AbsentScore] = []
    for index, item in enumerate(testset):
        labels = absent_classes(item, classes)
        if labels:
            queries = [template.format(label=label) for label in labels]
            outputs = estimate(item, list(queries))
            scores += [AbsentScore(item.name, label, query, level_db(out, item.mixture))
                       for label, query, out in zip(labels, queries, outputs)]
        if progress is not None:
            progress(index + 1, len(testset))
    return scores


def median_level(scores: Sequence[AbsentScore]) -> float | None:
    """The median absent-query level in dB (None without scores)."""
    return float(statistics.median(s.level_db for s in scores)) if scores else None


@dataclass(frozen=True)
class ParaphraseGap:
    """Mean SDRi of stems queried by label and by paraphrase, over the stems whose class has a paraphrase."""

    count: int
    label_sdri: float
    paraphrase_sdri: float

    @property
    def gap_db(self) -> float:
        """How many dB the paraphrases fall behind the labels (negative: they do better)."""
        return self.label_sdri - self.paraphrase_sdri


def paraphrase_gap(label_scores: Sequence[Score], paraphrase_scores: Sequence[Score]) -> ParaphraseGap | None:
    """Compare two scorings of the same stems; stems queried alike in both are left out (None if none is left)."""
    pairs = []
    for a, b in zip(label_scores, paraphrase_scores, strict=True):
        if (a.mixture, a.label) != (b.mixture, b.label):
            raise ValueError(f"paraphrase_gap: scores of different stems ({a.mixture} {a.label} vs {b.mixture} {b.label})")
        if a.query != b.query:
            pairs.append((a.sdri, b.sdri))
    if not pairs:
        return None
    return ParaphraseGap(len(pairs), float(np.mean([p[0] for p in pairs])), float(np.mean([p[1] for p in pairs])))


def format_checks(absent: Sequence[AbsentScore] | None, gap: ParaphraseGap | None, asked_gap: bool) -> str:
    """Lines for the eval command: the absent-query median level and the paraphrase gap, as asked."""
    lines = []
    if absent is not None:
        median = median_level(absent)
        lines.append("absent queries: no mixture has a class to ask for that is absent from it" if median is None
                     else f"absent queries: median level {median:.1f} dB re mixture over {len(absent)} queries")
    if asked_gap:
        lines.append("paraphrases: no stem's class has a held-out paraphrase" if gap is None else
                     f"paraphrases: {gap.count} stems, SDRi {gap.paraphrase_sdri:.2f} dB by paraphrase vs "
                     f"{gap.label_sdri:.2f} dB by label (gap {gap.gap_db:.2f} dB)")
    return "\n".join(lines)


def report_sections(absent: Sequence[AbsentScore] | None, gap: ParaphraseGap | None) -> dict:
    """The JSON report's extra sections for the two checks (only those that were run)."""
    out: dict = {}
    if absent is not None:
        out["absent"] = {"median_level_db": median_level(absent), "scores": [asdict(s) for s in absent]}
    if gap is not None:
        out["paraphrase_gap"] = {**asdict(gap), "gap_db": gap.gap_db}
    return out
