"""One stem in the results: name (drag it out as a file), play, solo, level and its waveform."""
from __future__ import annotations

from PyQt6.QtCore import QMimeData, QPoint, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDrag, QMouseEvent
from PyQt6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from soundsift.gui.jobs import StemResult
from soundsift.gui.waveform import WaveformView

LEVEL_RANGE_DB = (-30, 12)
LABEL_WIDTH = 230


def stem_mime_data(stem: StemResult) -> QMimeData:
    """What a drag of ``stem`` carries: its file, as a URL a DAW or file manager accepts."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(stem.path))])
    return mime


def db_to_gain(db: float) -> float:
    """Linear gain for a level in dB; the bottom of the slider is silence."""
    return 0.0 if db <= LEVEL_RANGE_DB[0] else 10 ** (db / 20)


class DragHandle(QLabel):
    """The stem's name; pressing and moving it drags the stem's file out of the window."""

    def __init__(self, stem: StemResult, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.stem = stem
        self._pressed_at: QPoint | None = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip(f"Drag to copy into another program or folder\n{stem.path}")
        font = self.font()
        font.setBold(True)
        self.setFont(font)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed_at = event.position().toPoint()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._pressed_at = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pressed_at is None:
            return
        if (event.position().toPoint() - self._pressed_at).manhattanLength() < QApplication.startDragDistance():
            return
        self._pressed_at = None
        drag = QDrag(self)
        drag.setMimeData(stem_mime_data(self.stem))
        drag.exec(Qt.DropAction.CopyAction)


class StemRow(QFrame):
    """A results row; its signals carry the row's index so the results panel can drive the player."""

    play_requested = pyqtSignal(int)
    solo_toggled = pyqtSignal(int, bool)
    gain_changed = pyqtSignal(int, float)
    seek_requested = pyqtSignal(int, float)

    def __init__(self, index: int, stem: StemResult, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.stem = stem
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.handle = DragHandle(stem, label)
        self.play_button = QToolButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip(f"Play '{label}' alone")
        self.play_button.clicked.connect(lambda: self.play_requested.emit(self.index))
        self.solo_button = QToolButton()
        self.solo_button.setText("S")
        self.solo_button.setCheckable(True)
        self.solo_button.setToolTip("Solo: when any stem is soloed, Play all plays only the soloed stems")
        self.solo_button.toggled.connect(lambda on: self.solo_toggled.emit(self.index, on))
        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(*LEVEL_RANGE_DB)
        self.level.setValue(0)
        self.level.setToolTip("Playback level")
        self.level_label = QLabel("0 dB")
        self.level_label.setMinimumWidth(44)
        self.level.valueChanged.connect(self._level_moved)
        peak = stem.preview.peak_db
        self.peak_label = QLabel(f"peak {peak:.1f} dBFS" if peak > -200 else "silent")
        self.peak_label.setEnabled(False)
        self.view = WaveformView(stem.preview)
        self.view.seek_requested.connect(lambda fraction: self.seek_requested.emit(self.index, fraction))
        self._lay_out()

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.play_button)
        controls.addWidget(self.solo_button)
        controls.addWidget(self.level, 1)
        controls.addWidget(self.level_label)
        side = QWidget()
        side.setFixedWidth(LABEL_WIDTH)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.handle)
        column.addLayout(controls)
        column.addWidget(self.peak_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(side)
        row.addWidget(self.view, 1)

    def set_playable(self, playable: bool, reason: str = "") -> None:
        """Enable or disable the play control (no audio device, stems still loading)."""
        self.play_button.setEnabled(playable)
        if reason:
            self.play_button.setToolTip(reason)

    def set_playing(self, playing: bool) -> None:
        """Show whether this stem is what plays alone right now."""
        icon = QStyle.StandardPixmap.SP_MediaStop if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _level_moved(self, db: int) -> None:
        self.level_label.setText("off" if db <= LEVEL_RANGE_DB[0] else f"{db:+d} dB" if db else "0 dB")
        self.gain_changed.emit(self.index, db_to_gain(db))
