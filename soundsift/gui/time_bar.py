"""The bar above the stems: a time ruler, zoom buttons and a scroll bar, one time window for every row."""
from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QScrollBar, QToolButton, QVBoxLayout, QWidget

from soundsift.gui.stem_row import side_by_side
from soundsift.gui.waveform import ZOOM_STEP, TimeRuler

SCROLL_RESOLUTION = 10_000  # scroll bar steps over a whole stem
MIN_SPAN_SECONDS = 0.5  # the closest zoom shows half a second across


class TimeBar(QFrame):
    """Holds the shown window ``[start, start + span]`` (fractions of the length); ``changed`` reports a new one."""

    changed = pyqtSignal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 0.0
        self.start, self.span = 0.0, 1.0
        self.ruler = TimeRuler()
        self.scroll = QScrollBar(Qt.Orientation.Horizontal)
        self.scroll.setToolTip("Scroll through time (or Shift+wheel over a picture)")
        self.scroll.valueChanged.connect(self._scrolled)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.zoom_out_button = self._button("−", "Zoom out (Ctrl+-, or Ctrl+wheel over a picture)", self.zoom_out)
        self.zoom_in_button = self._button("+", "Zoom in (Ctrl+=, or Ctrl+wheel over a picture)", self.zoom_in)
        self.fit_button = self._button("Fit", "Show the whole length (Ctrl+0)", self.fit)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        side = QWidget()
        side.setLayout(buttons)
        picture = QWidget()
        column = QVBoxLayout(picture)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.ruler)
        column.addWidget(self.scroll)
        side_by_side(self, side, picture)
        self._update_scroll()

    @staticmethod
    def _button(text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def set_duration(self, seconds: float) -> None:
        """A new set of stems: show all of it."""
        self.duration = seconds
        self.show_window(0.0, 1.0)

    def show_window(self, start: float, span: float) -> None:
        """Show ``[start, start + span]``, kept inside the stem and no closer than the zoom limit."""
        smallest = min(1.0, MIN_SPAN_SECONDS / self.duration) if self.duration > 0 else 1.0
        self.span = min(max(span, smallest), 1.0)
        self.start = min(max(start, 0.0), 1.0 - self.span)
        self.ruler.set_window(self.duration, self.start, self.span)
        self._update_scroll()
        self.zoom_in_button.setEnabled(self.span > smallest)
        self.zoom_out_button.setEnabled(self.span < 1.0)
        self.fit_button.setEnabled(self.span < 1.0)
        self.changed.emit(self.start, self.span)

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Zoom in (``factor > 1``) or out, keeping ``anchor`` (default: the middle) where it is on screen."""
        anchor = self.start + self.span / 2 if anchor is None else anchor
        span = self.span / factor
        self.show_window(anchor - (anchor - self.start) * span / self.span, span)

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)

    def fit(self) -> None:
        self.show_window(0.0, 1.0)

    def scroll_by(self, fraction: float) -> None:
        """Move the window by ``fraction`` of the whole length."""
        self.show_window(self.start + fraction, self.span)

    def _update_scroll(self) -> None:
        self.scroll.blockSignals(True)
        self.scroll.setRange(0, round((1.0 - self.span) * SCROLL_RESOLUTION))
        self.scroll.setPageStep(max(round(self.span * SCROLL_RESOLUTION), 1))
        self.scroll.setSingleStep(max(round(self.span * SCROLL_RESOLUTION / 10), 1))
        self.scroll.setValue(round(self.start * SCROLL_RESOLUTION))
        self.scroll.blockSignals(False)
        self.scroll.setEnabled(self.span < 1.0)

    def _scrolled(self, value: int) -> None:
        self.show_window(value / SCROLL_RESOLUTION, self.span)
