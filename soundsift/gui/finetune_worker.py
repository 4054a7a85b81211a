"""Runs fine-tuning (and the caption preview) off the UI thread; torch is imported only when a run starts."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QThread, pyqtSignal

from soundsift.errors import SoundsiftError


class CallThread(QThread):
    """Calls one function in a thread; ``succeeded`` carries its result, ``failed`` a one-line reason."""

    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except SoundsiftError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the app; show it
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


class FinetuneWorker(CallThread):
    """One fine-tuning run: ``event`` carries each :class:`FinetuneEvent`, then ``succeeded`` or ``failed``."""

    event = pyqtSignal(object)

    def __init__(self, settings: Any, resume: bool, device: str, table: Any = None,
                 parent: QObject | None = None) -> None:
        super().__init__(self._finetune, parent)
        from soundsift.training.finetune.run import FinetuneControl

        self.settings = settings
        self.resume = resume
        self.device = device
        self.table = table
        self.control = FinetuneControl()

    def _finetune(self) -> Any:
        from soundsift.training.finetune.run import finetune

        return finetune(self.settings, resume=self.resume, device=self.device, table=self.table,
                        on_event=self.event.emit, control=self.control)
