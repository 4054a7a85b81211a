"""The desktop app never closes on an error: uncaught exceptions show a dialog and the window stays open."""
from __future__ import annotations

import sys
import threading

import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from PyQt6.QtCore import QThread
from PyQt6.QtWidgets import QMessageBox, QPushButton

from soundsift.gui.excepthook import TITLE, install_exception_handler
from soundsift.gui.window import MainWindow
from tests import gui_fixtures as gui
from tests.finetune_library import block_train_extra, make_library

no_sound, store = gui.no_sound, gui.store  # fixtures, for pytest
WAIT_MS = 60_000


@pytest.fixture
def window(qtbot, store, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """The main window, shown, with the app's exception handler installed (the hooks are put back afterwards)."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.show()
    install_exception_handler(win)
    return win


def _error_dialogs(window: MainWindow) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible() and box.windowTitle() == TITLE]


def _wait_for_error(qtbot, window: MainWindow, text: str) -> None:
    qtbot.waitUntil(lambda: any(text in box.informativeText() for box in _error_dialogs(window)), timeout=WAIT_MS)
    assert window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_a_dialog_and_the_window_stays_open(qtbot, window):
    button = QPushButton("fails", window)

    def fail() -> None:
        raise RuntimeError("a slot failed on purpose")

    button.clicked.connect(fail)
    button.click()
    _wait_for_error(qtbot, window, "a slot failed on purpose")
    box = _error_dialogs(window)[0]
    assert "RuntimeError" in box.detailedText()  # the traceback is there for a bug report
    box.accept()
    qtbot.waitUntil(lambda: not _error_dialogs(window), timeout=WAIT_MS)
    assert window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_worker_thread_shows_a_dialog_and_the_window_stays_open(qtbot, window):
    class FailingWorker(QThread):
        def run(self) -> None:
            raise ValueError("a worker failed on purpose")

    worker = FailingWorker(window)
    worker.start()
    _wait_for_error(qtbot, window, "a worker failed on purpose")
    worker.wait()

    def fail() -> None:
        raise OSError("a Python thread failed on purpose")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    _wait_for_error(qtbot, window, "a Python thread failed on purpose")


@pytest.mark.qt_no_exception_capture
def test_finetune_page_without_the_train_extra_says_what_to_install_and_keeps_the_app(qtbot, window, tmp_path,
                                                                                     monkeypatch):
    block_train_extra(monkeypatch)
    page = window.open_finetune()
    assert "pip install 'soundsift[train]'" in page.status.text()
    assert not page.start_button.isEnabled()
    page.folder.setText(str(make_library(tmp_path / "lib", per_kind=2)))
    page.name.setText("mine")
    page.start_button.click()
    assert page.start() is False  # also when started another way
    assert "pip install 'soundsift[train]'" in page.status.text()
    assert page.worker is None and not _error_dialogs(window) and window.isVisible()
    page.preview()  # the caption preview needs nothing from the extra
    qtbot.waitUntil(lambda: "captioned files" in page.status.text(), timeout=WAIT_MS)
    page.shutdown()
