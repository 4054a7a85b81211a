"""What the desktop-app tests share: no sound hardware, settings in a temporary folder, real windows, drops.

Importing this module sets Qt to draw offscreen (before any QApplication exists), so the tests
need no display. A test module imports PyQt6 only after ``pytest.importorskip`` said it is there.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")

from PyQt6 import sip
from PyQt6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QWidget

from soundsift.gui.settings import AppSettings, open_store, save_settings
from soundsift.gui.window import MainWindow
from tests.conftest import test_signal, write_test_file

RATE = 16_000


@pytest.fixture(autouse=True)
def no_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch sound hardware: every player reports that there is no audio output."""
    monkeypatch.setattr("soundsift.gui.playback.audio_output_available", lambda: False)


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    """Settings in a temporary folder, never the user's own file."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    return open_store()


@pytest.fixture
def keep(qtbot):
    """Hold windows until teardown and close and delete them there.

    A window left to the garbage collector would be destroyed at a random moment, possibly
    while Qt is painting it.
    """
    held: list[MainWindow] = []
    yield held.append
    for window in held:
        window.close()
        sip.delete(window)


@pytest.fixture
def make_window(keep, store: QSettings, tmp_path: Path):
    """Open the real main window with ``model`` chosen and outputs under ``tmp_path/out``."""

    def make(model: Path | str, **changes: object) -> MainWindow:
        save_settings(store, AppSettings(model=str(model), output_dir=str(tmp_path / "out"), **changes))
        window = MainWindow(store)
        keep(window)
        window.show()
        return window

    return make


def drop_on(widget: QWidget, paths: list[Path]) -> None:
    """Drag ``paths`` over ``widget`` and drop them, through Qt's event delivery."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = widget.rect().center()
    enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def wait_finished(qtbot, window: MainWindow, timeout: int = 30_000) -> None:
    """Wait until every file in the window's queue has finished (done, failed or cancelled)."""
    qtbot.waitUntil(lambda: all(job.state.finished for job in window.queue.jobs()), timeout=timeout)


def separate_file(qtbot, window: MainWindow, path: Path, query: str, channels: int = 1, seconds: float = 1.0) -> Path:
    """Write a test signal to ``path``, separate it in ``window`` for ``query`` and wait until that is finished."""
    window.add_paths([write_test_file(path, test_signal(RATE, channels, seconds), RATE)])
    window.query.setText(query)
    window.separate()
    wait_finished(qtbot, window)
    return path
