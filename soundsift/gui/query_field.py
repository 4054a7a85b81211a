"""The query field: several queries separated by ';', each completed from history and presets."""
from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QEvent, QObject, QStringListModel, Qt
from PyQt6.QtGui import QKeyEvent, QMouseEvent
from PyQt6.QtWidgets import QApplication, QCompleter, QLineEdit, QWidget

SEPARATOR = ";"


def split_queries(text: str) -> list[str]:
    """'violin; a man speaking;' -> ['violin', 'a man speaking'] (blank parts and repeats dropped)."""
    return list(dict.fromkeys(part.strip() for part in text.split(SEPARATOR) if part.strip()))


class ClickThrough(QObject):
    """Closes a popup on a click outside it and hands the click on to the widget under the pointer.

    QCompleter's own filter closes its popup on such a click and swallows it, so the first click
    on, say, Separate while suggestions are open would do nothing.  Installed after the
    completer's filter, this one sees the click first.
    """

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if not (isinstance(watched, QWidget) and isinstance(event, QMouseEvent)
                and event.type() == QEvent.Type.MouseButtonPress):
            return False
        point = event.globalPosition().toPoint()
        if watched.rect().contains(watched.mapFromGlobal(point)):
            return False
        watched.hide()
        target = QApplication.widgetAt(point)
        if target is not None and target is not watched:
            QApplication.sendEvent(target, QMouseEvent(
                event.type(), target.mapFromGlobal(event.globalPosition()), event.globalPosition(),
                event.button(), event.buttons(), event.modifiers(),
            ))
        return True


class QueryField(QLineEdit):
    """A line edit whose completer works on the query being typed after the last ';'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("What to pull out, e.g.  violin; a man speaking   (several queries: separate with ;)")
        self.setClearButtonEnabled(True)
        self._model = QStringListModel(self)
        self.query_completer = QCompleter(self._model, self)
        self.query_completer.setWidget(self)
        self.query_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.query_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.query_completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.query_completer.activated[str].connect(self.insert_completion)
        self._click_through = ClickThrough(self)
        self.query_completer.popup().installEventFilter(self._click_through)
        self.textEdited.connect(self._complete_current)

    def queries(self) -> list[str]:
        """The queries typed so far."""
        return split_queries(self.text())

    def set_queries(self, queries: Sequence[str]) -> None:
        self.setText(f"{SEPARATOR} ".join(queries))

    def set_suggestions(self, suggestions: Sequence[str]) -> None:
        """What the completer offers (history first, then presets), without repeats."""
        self._model.setStringList(list(dict.fromkeys(suggestions)))

    def suggestions(self) -> list[str]:
        return self._model.stringList()

    def current_part(self) -> str:
        """The query under construction: the text after the last ';'."""
        return self.text().rsplit(SEPARATOR, 1)[-1].strip()

    def insert_completion(self, completion: str) -> None:
        """Replace the query being typed with ``completion`` and leave room for the next one."""
        done = self.text().rsplit(SEPARATOR, 1)[0] if SEPARATOR in self.text() else ""
        head = f"{done.rstrip()}{SEPARATOR} " if done.strip() else ""
        self.setText(f"{head}{completion}")

    def show_all_suggestions(self) -> None:
        """Open the completion list for the current part (all suggestions when it is empty)."""
        self.query_completer.setCompletionPrefix(self.current_part())
        if self.query_completer.completionCount():
            self.query_completer.complete()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self.query_completer.popup()
        if popup is not None and popup.isVisible() and event.key() in (
            Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab
        ):
            event.ignore()
            return
        if event.key() == Qt.Key.Key_Down and not (popup is not None and popup.isVisible()):
            self.show_all_suggestions()
            return
        super().keyPressEvent(event)

    def _complete_current(self) -> None:
        part = self.current_part()
        if not part:
            self.query_completer.popup().hide()
            return
        self.query_completer.setCompletionPrefix(part)
        if self.query_completer.completionCount():
            self.query_completer.complete()
        else:
            self.query_completer.popup().hide()
