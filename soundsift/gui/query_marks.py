"""Marks beside the queries: how well the model in use knows each one, with its nearest known sounds."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QWidget

from soundsift.confidence import QueryConfidence
from soundsift.gui.jobs import ModelChoice
from soundsift.gui.model_cache import ModelCache
from soundsift.gui.query_field import QueryField
from soundsift.gui.tasks import run_in_background

KNOWN_STYLE = "QLabel { color: #2e7d32; }"
SCORE_DELAY_MS = 400  # typing pause before the queries are scored
UNKNOWN_STYLE = "QLabel { background-color: #7a5a00; color: white; padding: 0 4px; border-radius: 3px; }"


def mark_text(query: str, confidence: QueryConfidence) -> tuple[str, str]:
    """(label, tooltip) of one query's mark: ? for a query the model does not know well, ✓ for one it knows."""
    detail = f"score {confidence.score:.2f}; nearest known sounds: {', '.join(confidence.nearest)}"
    if confidence.known is False:
        return f"? {query}", f"'{query}' is not a sound this model knows well ({detail})"
    if confidence.known:
        return f"✓ {query}", f"'{query}' is a sound this model knows ({detail})"
    return query, f"'{query}': this model has no calibrated threshold ({detail})"


class QueryMarks(QWidget):
    """One small label per query that has a score; hidden while none has."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.marks: list[QLabel] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addStretch(1)
        self.setVisible(False)

    def show_marks(self, queries: Sequence[str], scores: Mapping[str, QueryConfidence]) -> None:
        """Mark each of ``queries`` that ``scores`` has (typed ones not yet scored get none)."""
        for mark in self.marks:
            self._layout.removeWidget(mark)
            mark.deleteLater()
        self.marks = []
        for query in queries:
            if query in scores:
                text, tip = mark_text(query, scores[query])
                mark = QLabel(text)
                mark.setToolTip(tip)
                mark.setStyleSheet(UNKNOWN_STYLE if scores[query].known is False else KNOWN_STYLE)
                self._layout.insertWidget(len(self.marks), mark)
                self.marks.append(mark)
        self.setVisible(bool(self.marks))


class QueryScorer(QObject):
    """Scores the queries typed in ``field`` a moment after typing stops, and shows them in ``marks``.

    Scoring runs on a pool thread with the model ``models`` holds (the worker's), loading the chosen
    one there, once, when it holds another; each query is scored once per model.
    """

    def __init__(self, field: QueryField, marks: QueryMarks, models: ModelCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.field, self.marks, self.models = field, marks, models
        self.scores: dict[str, QueryConfidence | None] = {}  # None: the model has no vocabulary
        self.choice: ModelChoice | None = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SCORE_DELAY_MS)
        self._timer.timeout.connect(self.score)
        field.textChanged.connect(self.show)
        field.textChanged.connect(self._timer.start)

    def use(self, choice: ModelChoice | None) -> None:
        """Score with ``choice`` from now on (None: the chosen model cannot be used); another model forgets the
        scores of the last one."""
        if choice is None or self.choice is None or choice.model != self.choice.model:
            self.scores.clear()
            self.show()
        self.choice = choice
        self._timer.start()

    def show(self) -> None:
        """Mark the typed queries that have a score."""
        self.marks.show_marks(self.field.queries(), {q: s for q, s in self.scores.items() if s is not None})

    def score(self) -> None:
        """Score the typed queries that have none yet, in the background."""
        texts = [q for q in self.field.queries() if q not in self.scores]
        if not texts or self._busy or self.choice is None:
            return
        choice, models = self.choice, self.models

        def work() -> dict[str, QueryConfidence | None]:
            held = models.current()
            separator = held[1] if held is not None and held[0].model == choice.model else models.get(choice)
            return {text: separator.query_confidence(text) for text in texts}

        def scored(scores: dict[str, QueryConfidence | None]) -> None:
            self._busy = False
            if self.choice is not None and self.choice.model == choice.model:
                self.scores.update(scores)
                self.show()
                self._timer.start()  # queries typed meanwhile

        def failed(_message: str) -> None:  # the banner, or the queue once a file runs, says what is wrong
            self._busy = False

        self._busy = True
        run_in_background(self, work, scored, failed)
