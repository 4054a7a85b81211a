"""Run short jobs (export, loading stems for playback) on Qt's thread pool and report back on the UI thread."""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal, pyqtSlot

from soundsift.errors import SoundsiftError
from soundsift.gui.jobs import unexpected_problem


class _Signals(QObject):
    """Carries a task's outcome to its owner's thread; it is the owner's child, so once the owner is gone
    an outcome still on its way is dropped instead of reaching widgets that no longer exist."""

    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, owner: QObject, on_done: Callable[[Any], None], on_failed: Callable[[str], None]) -> None:
        super().__init__(owner)
        self._on_done, self._on_failed = on_done, on_failed
        self.done.connect(self._deliver_done)
        self.failed.connect(self._deliver_failed)

    @pyqtSlot(object)
    def _deliver_done(self, value: object) -> None:
        self.deleteLater()
        self._on_done(value)

    @pyqtSlot(str)
    def _deliver_failed(self, message: str) -> None:
        self.deleteLater()
        self._on_failed(message)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.fn()
        except SoundsiftError as exc:
            self._emit("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the window instead of killing a pool thread silently
            traceback.print_exc(file=sys.stderr)
            self._emit("failed", unexpected_problem(exc))
        else:
            self._emit("done", result)

    def _emit(self, name: str, value: object) -> None:
        """Emit unless the owner (and with it the signal carrier) was destroyed meanwhile."""
        try:
            getattr(self.signals, name).emit(value)
        except RuntimeError:  # the carrier is gone: nobody is left to tell
            pass


def run_in_background(
    owner: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None], on_failed: Callable[[str], None]
) -> QObject:
    """Call ``fn()`` on a pool thread; ``on_done(result)`` or ``on_failed(message)`` runs on ``owner``'s thread.

    Returns the signal carrier (a child of ``owner``), which tests can wait on.
    """
    signals = _Signals(owner, on_done, on_failed)
    QThreadPool.globalInstance().start(_Task(fn, signals))
    return signals
