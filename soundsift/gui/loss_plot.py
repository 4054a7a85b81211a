"""A small live plot of a fine-tuning run: training loss (left axis) and held-out SDRi (right axis).

Drawn with QPainter, so the app needs no plotting library.
"""
from __future__ import annotations

import itertools
import math

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

LOSS_COLOUR = QColor(31, 119, 180)
SCORE_COLOUR = QColor(255, 127, 14)
MARGIN = 44  # at least; wider when a label needs it
LOSS_LABEL, SCORE_LABEL = "loss", "SDRi dB"


class LossPlot(QWidget):
    """Loss against step as a line, held-out SDRi against step as dots joined by a line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss: list[tuple[int, float]] = []
        self.scores: list[tuple[int, float]] = []
        self.steps = 1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(140)

    def sizeHint(self) -> QSize:
        return QSize(480, 220)

    def clear(self, steps: int = 1) -> None:
        self.loss.clear()
        self.scores.clear()
        self.steps = max(1, steps)
        self.update()

    def add_loss(self, step: int, value: float) -> None:
        if math.isfinite(value):
            self.loss.append((step, value))
            self.update()

    def add_score(self, step: int, value: float) -> None:
        if math.isfinite(value):
            self.scores.append((step, value))
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        margin = self.margin()
        area = QRectF(margin, 8, max(1, self.width() - 2 * margin), max(1, self.height() - 30))
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid)))
        painter.drawRect(area)
        text = palette.color(QPalette.ColorRole.Text)
        painter.setPen(text)
        painter.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), 18),
                         Qt.AlignmentFlag.AlignCenter, f"step (of {self.steps})")
        if not self.loss and not self.scores:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "loss and held-out SDRi appear here")
            return
        self._series(painter, area, self.loss, LOSS_COLOUR, left=True, dots=False)
        self._series(painter, area, self.scores, SCORE_COLOUR, left=False, dots=True)

    def margin(self) -> int:
        """Room beside the plot for the widest axis label, so no label is cut off."""
        labels = [LOSS_LABEL, SCORE_LABEL]
        for points in (self.loss, self.scores):
            if points:
                labels += [f"{v:.3g}" for v in _range([v for _, v in points])]
        return max(MARGIN, max(self.fontMetrics().horizontalAdvance(t) for t in labels) + 10)

    def _series(self, painter: QPainter, area: QRectF, points: list[tuple[int, float]], colour: QColor,
                left: bool, dots: bool) -> None:
        if not points:
            return
        low, high = _range([v for _, v in points])

        def at(step: int, value: float) -> QPointF:
            x = area.left() + area.width() * step / self.steps
            return QPointF(x, area.bottom() - area.height() * (value - low) / (high - low))

        painter.setPen(QPen(colour, 1.6))
        mapped = [at(s, v) for s, v in points]
        for a, b in itertools.pairwise(mapped):
            painter.drawLine(a, b)
        if dots:
            painter.setBrush(colour)
            for p in mapped:
                painter.drawEllipse(p, 3.0, 3.0)
        label_x = 2 if left else area.right() + 4
        width = area.left() - 6
        align = Qt.AlignmentFlag.AlignLeft
        painter.drawText(QRectF(label_x, area.top(), width, 16), align, f"{high:.3g}")
        painter.drawText(QRectF(label_x, area.bottom() - 16, width, 16), align, f"{low:.3g}")
        name = LOSS_LABEL if left else SCORE_LABEL
        painter.drawText(QRectF(label_x, area.center().y() - 8, width, 16), align, name)


def _range(values: list[float]) -> tuple[float, float]:
    """The lowest and highest value, widened around a flat series so that it has a height."""
    low, high = min(values), max(values)
    return (low - 1.0, high + 1.0) if high - low < 1e-9 else (low, high)
