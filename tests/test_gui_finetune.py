"""The desktop app's fine-tuning page, offscreen: preview, start, pause, resume, stop, finish, select."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from PyQt6 import sip
from PyQt6.QtGui import QImage

from soundsift.gui.finetune_page import FinetunePage
from soundsift.gui.settings import load_settings
from soundsift.gui.window import MainWindow
from tests import gui_fixtures as gui
from tests.finetune_library import make_compact_base, make_library

no_sound, store = gui.no_sound, gui.store  # fixtures, for pytest
WAIT_MS = 240_000


def _fill(page: FinetunePage, library: Path, base: Path, steps: int) -> None:
    page.folder.setText(str(library))
    page.source.setCurrentIndex(page.source.findData("filenames"))
    page.name.setText("gui-tuned")
    page.base.addItem(str(base))
    page.base.setCurrentText(str(base))
    page.steps.setValue(steps)


@pytest.mark.slow
def test_preview_then_train_pause_resume_and_the_model_is_selected(qtbot, store, tmp_path, one_torch_thread):
    library = make_library(tmp_path / "lib", per_kind=3)
    base = make_compact_base(tmp_path / "base")
    window = MainWindow(store)
    page = window.open_finetune()
    page.options = {"seconds": 1.0, "lr": 3e-3, "holdout": 0.34, "test_mixtures": 2, "validate_every": 4,
                    "checkpoint_every": 2, "check_mixtures": 2}
    try:
        _fill(page, library, base, steps=8)
        page.preview()
        qtbot.waitUntil(lambda: page.table.rowCount() == 12, timeout=WAIT_MS)
        captions = {page.table.item(i, 1).text() for i in range(12)}
        assert captions == {"sweep", "mains hum", "crackle", "hiss"}
        assert not page.pause_button.isEnabled()
        assert page.start()
        assert page.pause_button.isEnabled() and not page.start_button.isEnabled()
        qtbot.waitUntil(lambda: page.progress.value() >= 1, timeout=WAIT_MS)
        page.pause()
        qtbot.waitUntil(lambda: page.status.text().startswith("Paused at step"), timeout=WAIT_MS)
        paused_at = page.progress.value()
        qtbot.wait(300)
        assert page.progress.value() == paused_at and page.resume_button.isEnabled()
        with qtbot.waitSignal(page.model_ready, timeout=WAIT_MS) as ready:
            page.resume()
        assert ready.args == ["gui-tuned"]
        assert window.settings.model == "gui-tuned" and load_settings(store).model == "gui-tuned"
        assert page.plot.loss and [s for s, _ in page.plot.scores] == [0, 4, 8]
        status = page.status.text()
        assert "Model 'gui-tuned' is ready" in status and "known sounds (2 check mixtures)" in status
        image = QImage(page.plot.size(), QImage.Format.Format_ARGB32)
        page.plot.render(image)
        assert not image.isNull()
    finally:
        window.close()
        sip.delete(page)
        sip.delete(window)


@pytest.mark.slow
def test_stop_then_start_resumes_the_run(qtbot, tmp_path, one_torch_thread):
    library = make_library(tmp_path / "lib", per_kind=3)
    base = make_compact_base(tmp_path / "base")
    page = FinetunePage("cpu")
    page.options = {"seconds": 1.0, "holdout": 0.34, "test_mixtures": 2, "validate_every": 100,
                    "checkpoint_every": 100}
    try:
        _fill(page, library, base, steps=6)
        assert page.start()
        qtbot.waitUntil(lambda: page.progress.value() >= 2, timeout=WAIT_MS)
        page.stop()
        qtbot.waitUntil(lambda: not page.running() and page.start_button.isEnabled(), timeout=WAIT_MS)
        assert "press Start to resume" in page.status.text()
        stopped_at = page.progress.value()
        assert stopped_at < 6
        with qtbot.waitSignal(page.model_ready, timeout=WAIT_MS):
            assert page.start()
        assert page.progress.value() == 6
    finally:
        page.shutdown()
        sip.delete(page)


def test_bad_inputs_are_reported_not_raised(qtbot, tmp_path):
    page = FinetunePage("cpu")
    try:
        assert not page.start()
        assert "folder" in page.status.text()
        page.folder.setText(str(tmp_path / "missing"))
        page.preview()
        qtbot.waitUntil(lambda: "not a folder" in page.status.text(), timeout=WAIT_MS)
        page.name.setText("default")
        assert not page.start() and "bundled" in page.status.text()
    finally:
        page.shutdown()
        sip.delete(page)

