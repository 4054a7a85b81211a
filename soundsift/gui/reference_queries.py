"""Reference clips as queries: drop an audio file here to separate "what sounds like this".

Each dropped clip becomes one :class:`~soundsift.queries.AudioQuery` (stem ``like <file>``),
separated alongside the typed text queries.  Clips are checked when dropped (readable, not
silent, long enough), so a bad one is refused at once with the reason; see
``docs/query_by_example.md``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QWidget

from soundsift.errors import SoundsiftError
from soundsift.queries import AudioQuery

CHECK_RATE = 16_000
HINT = "Drop reference clips here: separate what sounds like them"


class ReferenceClips(QWidget):
    """A drop zone listing reference clips; :meth:`audio_queries` turns them into queries."""

    message = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.hint = QLabel(HINT)
        self.hint.setToolTip("Each dropped audio file becomes a query: the stem 'like <file>' holds what sounds like it")
        self.list = QListWidget()
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setMaximumHeight(34)
        self.list.setToolTip("Reference clips used as queries; select one and press Delete to drop it")
        self.clear_button = QPushButton("Clear clips")
        self.clear_button.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.clear_button)
        self._queries: dict[str, AudioQuery] = {}
        self._refresh()

    def add_clips(self, paths: Sequence[Path]) -> list[AudioQuery]:
        """Check and add clips; a bad clip is refused with a message naming it. Returns the added queries."""
        added = []
        for path in paths:
            query = AudioQuery(Path(path))
            if query.name in self._queries:
                continue
            try:
                for example in query.examples:
                    example.load(CHECK_RATE)
            except SoundsiftError as exc:
                self.message.emit(f"Reference clip refused: {exc}")
                continue
            self._queries[query.name] = query
            item = QListWidgetItem(query.name)
            item.setToolTip(str(path))
            self.list.addItem(item)
            added.append(query)
        if added:
            self.message.emit(f"Added {len(added)} reference clip(s) as queries: "
                              + ", ".join(q.name for q in added))
        self._refresh()
        return added

    def audio_queries(self) -> list[AudioQuery]:
        """The reference clips as queries, in the order they were dropped."""
        return list(self._queries.values())

    def clear(self) -> None:
        self._queries.clear()
        self.list.clear()
        self._refresh()

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self._queries.pop(item.text(), None)
            self.list.takeItem(self.list.row(item))
        self._refresh()

    def _refresh(self) -> None:
        has = bool(self._queries)
        self.list.setVisible(has)
        self.clear_button.setVisible(has)
        self.hint.setText("Reference clips:" if has else HINT)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_selected()
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        files = [p for p in paths if p.is_file()]
        if files:
            event.acceptProposedAction()
            self.add_clips(files)
