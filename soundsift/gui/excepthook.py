"""The app's last line of defence: an exception nothing caught (in a slot, a QThread or a Python thread)
shows a dialog and the window stays open, with its queue and results.

PyQt ends the process on an uncaught exception in a slot unless ``sys.excepthook`` is replaced, and a
dialog can only be built on the GUI thread, so the hook hands the report over with a queued signal.
"""
from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QMessageBox, QWidget

TITLE = "soundsift: unexpected error"
TEXT = "Something went wrong and that action was stopped. The app is still running; your files and results are kept."


class ExceptionReporter(QObject):
    """Receives uncaught exceptions from any thread and shows each in a non-blocking dialog."""

    caught = pyqtSignal(str, str)  # what went wrong (one line), the traceback

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.dialogs: list[QMessageBox] = []
        self.caught.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def hook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """``sys.excepthook``: print the traceback (for bug reports) and show the dialog on the GUI thread."""
        details = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(details)
        self.caught.emit(str(exc) or kind.__name__, details)

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        """``threading.excepthook``: the same report for exceptions that end a Python thread."""
        if args.exc_value is not None:
            self.hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, summary: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, TITLE, TEXT, QMessageBox.StandardButton.Ok, self.window)
        box.setInformativeText(summary)
        box.setDetailedText(details)
        box.finished.connect(lambda _result, shown=box: self._forget(shown))
        self.dialogs.append(box)
        box.open()

    def _forget(self, box: QMessageBox) -> None:
        if box in self.dialogs:
            self.dialogs.remove(box)
        box.deleteLater()


def install_exception_handler(window: QWidget | None = None) -> ExceptionReporter:
    """Route every uncaught exception of the process to a dialog over ``window``; returns the reporter (keep it)."""
    reporter = ExceptionReporter(window)
    sys.excepthook = reporter.hook
    threading.excepthook = reporter.thread_hook
    return reporter
