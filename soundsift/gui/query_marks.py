"""Marks beside the queries: how well the model in use knows each one, with its nearest known sounds."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from PyQt6.QtWidgets import QHBoxLayout, QLabel, QWidget

from soundsift.confidence import QueryConfidence

KNOWN_STYLE = "QLabel { color: #2e7d32; }"
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
