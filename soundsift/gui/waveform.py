"""Paints a stem as a waveform or a spectrogram, with a playhead; clicking asks to play from there."""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from soundsift.gui.jobs import StemPreview

WAVEFORM, SPECTROGRAM = "waveform", "spectrogram"


def _colormap() -> list[int]:
    """A 256-entry dark-blue to yellow ramp (magma-like) as ARGB values for indexed images."""
    stops = np.array([[0, 0, 4], [60, 15, 110], [180, 55, 120], [250, 135, 90], [252, 250, 190]], dtype=np.float64)
    positions = np.linspace(0, 255, len(stops))
    levels = np.arange(256)
    rgb = np.stack([np.interp(levels, positions, stops[:, c]) for c in range(3)], axis=1).astype(np.uint32)
    return [int(0xFF000000 | (r << 16) | (g << 8) | b) for r, g, b in rgb]


COLORMAP = _colormap()


class WaveformView(QWidget):
    """A stem's picture; ``seek_requested`` carries the clicked position as a fraction of the length."""

    seek_requested = pyqtSignal(float)

    def __init__(self, preview: StemPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.mode = WAVEFORM
        self.playhead: float | None = None
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(48)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(400, 72)

    def set_mode(self, mode: str) -> None:
        """Show the waveform or the spectrogram."""
        self.mode = mode
        self.update()

    def set_playhead(self, fraction: float | None) -> None:
        """Draw the play position (``None`` hides it)."""
        self.playhead = fraction
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.width() > 0:
            self.seek_requested.emit(min(max(event.position().x() / self.width(), 0.0), 1.0))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Base))
        if self.mode == SPECTROGRAM:
            painter.drawImage(rect, self._spectrogram_image())
        else:
            self._paint_waveform(painter, rect)
        if self.playhead is not None:
            x = rect.left() + self.playhead * rect.width()
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.BrightText), 1.5))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.end()

    def _paint_waveform(self, painter: QPainter, rect: QRectF) -> None:
        width = max(int(rect.width()), 1)
        env = self.preview.envelope
        columns = np.minimum((np.arange(width) * env.shape[1]) // width, env.shape[1] - 1)
        lows, highs = env[0, columns], env[1, columns]
        middle, half = rect.center().y(), rect.height() / 2 - 1
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawLine(QPointF(rect.left(), middle), QPointF(rect.right(), middle))
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 1))
        tops = middle - np.clip(highs, -1, 1) * half
        bottoms = middle - np.clip(lows, -1, 1) * half + 0.5
        xs = rect.left() + np.arange(width) + 0.5
        painter.drawLines([QLineF(x, t, x, b) for x, t, b in zip(xs.tolist(), tops.tolist(), bottoms.tolist())])

    def _spectrogram_image(self) -> QImage:
        """The spectrogram as an indexed image, low frequencies at the bottom (built once)."""
        if self._image is None:
            data = np.ascontiguousarray(self.preview.spectrogram[::-1])
            height, width = data.shape
            image = QImage(data.tobytes(), width, height, width, QImage.Format.Format_Indexed8)
            image.setColorTable(COLORMAP)
            self._image = image.copy()
        return self._image

