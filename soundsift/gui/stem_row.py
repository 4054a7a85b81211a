"""One stem in the results: name (drag it out as a file), play, solo, level and its waveform."""
from __future__ import annotations

from PyQt6.QtCore import QMimeData, QPoint, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDrag, QMouseEvent
from PyQt6.QtWidgets import (
    QApplication,
    QFrame,
    QGraphicsOpacityEffect,
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
MUTED_OPACITY = 0.35
SOLO_STYLE = ("QToolButton:checked { background-color: #f5b800; color: black; font-weight: bold; "
              "border: 1px solid #9a7400; border-radius: 3px; }")
CLIP_STYLE = "QLabel { background-color: #d9341f; color: white; font-weight: bold; padding: 0 4px; border-radius: 3px; }"


def stem_mime_data(stem: StemResult) -> QMimeData:
    """What a drag of ``stem`` carries: its file, as a URL a DAW or file manager accepts."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(stem.path))])
    return mime


def side_by_side(frame: QFrame, side: QWidget, picture: QWidget) -> None:
    """Lay out a results row: a fixed-width side column, then the picture; every row lines up with the ruler."""
    side.setFixedWidth(LABEL_WIDTH)
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    row = QHBoxLayout(frame)
    row.setContentsMargins(6, 4, 6, 4)
    row.addWidget(side)
    row.addWidget(picture, 1)


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
        self.muted = False
        self.handle = DragHandle(stem, label)
        self.play_button = QToolButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip(f"Play '{label}' alone")
        self.play_button.clicked.connect(lambda: self.play_requested.emit(self.index))
        self.solo_button = QToolButton()
        self.solo_button.setText("S")
        self.solo_button.setCheckable(True)
        self.solo_button.setToolTip("Solo: when any row is soloed, Play all plays only the soloed rows")
        self.solo_button.setStyleSheet(SOLO_STYLE)
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
        self.clip_label = QLabel("CLIP")
        self.clip_label.setStyleSheet(CLIP_STYLE)
        self.clip_label.setToolTip("At this level the sound goes over full scale and clips when played")
        self.clip_label.setVisible(False)
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
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.handle)
        column.addLayout(controls)
        levels = QHBoxLayout()
        levels.addWidget(self.peak_label)
        levels.addWidget(self.clip_label)
        levels.addStretch(1)
        column.addLayout(levels)
        side_by_side(self, side, self.view)
        self.clip_label.setVisible(self.clips)

    def set_playable(self, playable: bool, reason: str = "") -> None:
        """Enable or disable the play control (no audio device, stems still loading)."""
        self.play_button.setEnabled(playable)
        if reason:
            self.play_button.setToolTip(reason)

    def set_playing(self, playing: bool) -> None:
        """Show whether this stem is what plays alone right now."""
        icon = QStyle.StandardPixmap.SP_MediaStop if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_muted(self, muted: bool) -> None:
        """Dim the row while it is left out of Play all (others soloed, or its level off)."""
        self.muted = muted
        for widget in (self.handle, self.view):
            effect = QGraphicsOpacityEffect(widget)
            effect.setOpacity(MUTED_OPACITY)
            widget.setGraphicsEffect(effect if muted else None)

    @property
    def clips(self) -> bool:
        """True when the level lifts the stem's peak over full scale."""
        db = self.level.value()
        return bool(db > LEVEL_RANGE_DB[0] and self.stem.preview.peak_db + db > 0)

    def _level_moved(self, db: int) -> None:
        self.level_label.setText("off" if db <= LEVEL_RANGE_DB[0] else f"{db:+d} dB" if db else "0 dB")
        self.clip_label.setVisible(self.clips)
        self.gain_changed.emit(self.index, db_to_gain(db))
