"""Paints a stem as a waveform or a spectrogram over a zoomable time window, with a playhead and a time ruler."""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QWheelEvent
from PyQt6.QtWidgets import QSizePolicy, QWidget

from soundsift.gui.jobs import StemPreview

WAVEFORM, SPECTROGRAM = "waveform", "spectrogram"
ZOOM_STEP = 1.25  # one wheel notch or key press
SCROLL_STEP = 0.1  # of the shown window, per wheel notch
TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


def _colormap() -> list[int]:
    """A 256-entry dark-blue to yellow ramp (magma-like) as ARGB values for indexed images."""
    stops = np.array([[0, 0, 4], [60, 15, 110], [180, 55, 120], [250, 135, 90], [252, 250, 190]], dtype=np.float64)
    positions = np.linspace(0, 255, len(stops))
    levels = np.arange(256)
    rgb = np.stack([np.interp(levels, positions, stops[:, c]) for c in range(3)], axis=1).astype(np.uint32)
    return [int(0xFF000000 | (r << 16) | (g << 8) | b) for r, g, b in rgb]


COLORMAP = _colormap()


def visible_columns(count: int, start: float, span: float, width: int) -> np.ndarray:
    """For each of ``width`` pixels, the first of ``count`` columns it covers when the window
    ``[start, start + span]`` (fractions of the length) is shown; ends are the next pixel's first."""
    edges = (start + np.arange(width + 1) * (span / width)) * count
    return np.minimum(edges.astype(np.int64), count - 1)


def pixel_columns(data: np.ndarray, start: float, span: float, width: int, reduce: np.ufunc) -> np.ndarray:
    """``data``'s columns (its last axis spans the whole length) in the shown window, one per pixel: each
    pixel is ``reduce`` (e.g. ``np.maximum``) over the columns it covers, so no short event falls between
    pixels; zoomed in closer than the data's resolution, neighbouring pixels repeat a column."""
    columns = visible_columns(data.shape[-1], start, span, width)
    return reduce.reduceat(data[..., : columns[-1] + 1], columns[:-1], axis=-1)


def frequency_marks(lowest_hz: float, top_hz: float) -> list[tuple[float, str]]:
    """(height fraction from the bottom, label) of the decade lines on a log-frequency axis."""
    marks = []
    for hz, label in ((100, "100 Hz"), (1000, "1 kHz"), (10_000, "10 kHz")):
        if lowest_hz < hz < top_hz:
            marks.append((float(np.log(hz / lowest_hz) / np.log(top_hz / lowest_hz)), label))
    return marks


class WaveformView(QWidget):
    """A stem's picture over the shown time window; ``seek_requested`` carries a clicked position as a fraction
    of the length, ``zoom_requested`` (factor, anchor fraction) a Ctrl+wheel, ``scroll_requested`` (fraction
    of the length) a sideways or Shift+wheel."""

    seek_requested = pyqtSignal(float)
    zoom_requested = pyqtSignal(float, float)
    scroll_requested = pyqtSignal(float)

    def __init__(self, preview: StemPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.mode = WAVEFORM
        self.playhead: float | None = None
        self.start, self.span = 0.0, 1.0
        self._image: tuple[tuple[int, float, float], QImage] | None = None  # (width, start, span) it shows
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(48)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(400, 72)

    def set_mode(self, mode: str) -> None:
        """Show the waveform or the spectrogram."""
        self.mode = mode
        self.update()

    def set_window(self, start: float, span: float) -> None:
        """Show the part ``[start, start + span]`` of the stem (fractions of its length)."""
        self.start, self.span = start, span
        self.update()

    def set_playhead(self, fraction: float | None) -> None:
        """Draw the play position (``None`` hides it)."""
        self.playhead = fraction
        self.update()

    def fraction_at(self, x: float) -> float:
        """The position in the stem (fraction of its length) under pixel column ``x``."""
        return min(max(self.start + x / max(self.width(), 1) * self.span, 0.0), 1.0)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.width() > 0:
            self.seek_requested.emit(self.fraction_at(event.position().x()))

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        sideways = event.angleDelta().x() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and steps:
            self.zoom_requested.emit(ZOOM_STEP ** steps, self.fraction_at(event.position().x()))
        elif event.modifiers() & Qt.KeyboardModifier.ShiftModifier and steps:
            self.scroll_requested.emit(-steps * self.span * SCROLL_STEP)
        elif sideways:
            self.scroll_requested.emit(-sideways * self.span * SCROLL_STEP)
        else:
            event.ignore()  # the results list scrolls up and down
            return
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Base))
        if self.mode == SPECTROGRAM:
            painter.drawImage(rect, self._spectrogram_image(max(int(rect.width()), 1)))
            self._paint_frequency_marks(painter, rect)
        else:
            self._paint_waveform(painter, rect)
        if self.playhead is not None and self.start <= self.playhead <= self.start + self.span:
            x = rect.left() + (self.playhead - self.start) / self.span * rect.width()
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.BrightText), 1.5))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.end()

    def _paint_waveform(self, painter: QPainter, rect: QRectF) -> None:
        width = max(int(rect.width()), 1)
        env = self.preview.envelope
        lows = pixel_columns(env[0], self.start, self.span, width, np.minimum)
        highs = pixel_columns(env[1], self.start, self.span, width, np.maximum)
        middle, half = rect.center().y(), rect.height() / 2 - 1
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawLine(QPointF(rect.left(), middle), QPointF(rect.right(), middle))
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 1))
        tops = middle - np.clip(highs, -1, 1) * half
        bottoms = middle - np.clip(lows, -1, 1) * half + 0.5
        xs = rect.left() + np.arange(width) + 0.5
        painter.drawLines([QLineF(x, t, x, b) for x, t, b in zip(xs.tolist(), tops.tolist(), bottoms.tolist())])

    def _paint_frequency_marks(self, painter: QPainter, rect: QRectF) -> None:
        """Decade lines with their frequency at the left edge, readable on any colour of the image."""
        metrics = painter.fontMetrics()
        for fraction, label in frequency_marks(self.preview.lowest_hz, self.preview.top_hz):
            y = rect.bottom() - fraction * rect.height()
            painter.setPen(QPen(QColor(255, 255, 255, 90), 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            top = min(max(y - metrics.height() / 2, rect.top()), rect.bottom() - metrics.height())
            box = QRectF(rect.left() + 2, top, metrics.horizontalAdvance(label) + 6, metrics.height())  # on its line
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor("white"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    def _spectrogram_image(self, width: int) -> QImage:
        """The shown part of the spectrogram, one column per pixel, low frequencies at the bottom (kept until
        the width or the time window changes, so the playhead's repaints reuse it)."""
        key = (width, self.start, self.span)
        if self._image is None or self._image[0] != key:
            pixels = pixel_columns(self.preview.spectrogram, self.start, self.span, width, np.maximum)
            data = np.ascontiguousarray(pixels[::-1])
            height = data.shape[0]
            image = QImage(data.tobytes(), width, height, width, QImage.Format.Format_Indexed8)
            image.setColorTable(COLORMAP)
            self._image = (key, image.copy())
        return self._image[1]


def tick_step(seconds: float, width: int, min_pixels: int = 70) -> float:
    """The smallest 'round' time step whose ticks lie at least ``min_pixels`` apart."""
    per_second = width / max(seconds, 1e-9)
    return next((step for step in TICK_STEPS if step * per_second >= min_pixels), TICK_STEPS[-1])


def time_label(seconds: float, step: float) -> str:
    """m:ss (with tenths when ticks are closer than a second)."""
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}" if step < 1 else f"{int(minutes)}:{round(rest):02d}"


class TimeRuler(QWidget):
    """Minutes and seconds over the shown time window, lined up with the stems' pictures below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 0.0
        self.start, self.span = 0.0, 1.0
        self.setMinimumHeight(self.fontMetrics().height() + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(400, self.fontMetrics().height() + 8)

    def set_window(self, duration: float, start: float, span: float) -> None:
        self.duration, self.start, self.span = duration, start, span
        self.update()

    def ticks(self) -> list[tuple[float, str]]:
        """(x, label) of each tick in the shown window."""
        if self.duration <= 0 or self.width() <= 0:
            return []
        first, seconds = self.start * self.duration, self.span * self.duration
        step = tick_step(seconds, self.width())
        times = np.arange(np.ceil(first / step - 1e-9) * step, first + seconds + 1e-9, step)
        return [((t - first) / seconds * self.width(), time_label(float(t), step)) for t in times]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        bottom = self.height() - 1
        painter.drawLine(QPointF(0, bottom), QPointF(self.width(), bottom))
        metrics = painter.fontMetrics()
        for x, label in self.ticks():
            painter.drawLine(QPointF(x, bottom - 5), QPointF(x, bottom))
            left = min(max(x - metrics.horizontalAdvance(label) / 2, 0), self.width() - metrics.horizontalAdvance(label))
            painter.drawText(QPointF(left, metrics.ascent() + 1), label)
        painter.end()
