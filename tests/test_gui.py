"""The desktop app driven through its real window, offscreen, with tiny models and generated audio."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

import soundfile
from PyQt6 import sip
from PyQt6.QtCore import QPoint, Qt, QTimer, QUrl
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QApplication

from soundsift.gui.export import ExportRequest
from soundsift.gui.jobs import JobState, ModelChoice
from soundsift.gui.loader import NO_DEFAULT_MODEL, load_choice
from soundsift.gui.settings import AppSettings, load_history, load_settings, open_store, save_settings
from soundsift.gui.settings_dialog import MODEL_FOLDER, SettingsDialog
from soundsift.gui.stem_row import stem_mime_data
from soundsift.gui.waveform import SPECTROGRAM, WAVEFORM
from soundsift.gui.window import MainWindow
from soundsift.separation import SegmentSeparator
from tests import gui_fixtures as gui
from tests.conftest import make_model, test_signal, write_test_file
from tests.gui_fixtures import RATE, drop_on, separate_file, wait_finished
from tests.test_onnx import make_onnx_model

keep, make_window, no_sound, store = gui.keep, gui.make_window, gui.no_sound, gui.store  # fixtures, for pytest

# the smallest network the model code accepts: long inputs still take seconds, not minutes, on 2 cores
FAST = {"base_channels": 2, "max_channels": 4, "depth": 2, "fusion_maps": 2}


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("m") / "fast", seed=1, **FAST)


def test_drop_query_separate_see_stems_and_export(qtbot, make_window, tiny_model, tmp_path, monkeypatch):
    window = make_window(tiny_model)
    mix = write_test_file(tmp_path / "mix.wav", test_signal(RATE, 2, 2.0), RATE)
    drop_on(window, [mix])
    assert [job.source for job in window.queue.jobs()] == [mix]
    qtbot.keyClicks(window.query, "violin; a dog barking")
    qtbot.mouseClick(window.separate_button, Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)

    job = window.queue.jobs()[0]
    assert job.state is JobState.DONE, job.message
    assert window.results.job is job
    assert [row.handle.text() for row in window.results.rows] == ["violin", "a dog barking", "rest (everything else)",
                                                                  "original (the input)"]
    out = tmp_path / "out" / "mix"
    assert sorted(p.name for p in out.glob("*.wav")) == ["a-dog-barking.wav", "rest.wav", "violin.wav"]
    assert soundfile.info(str(out / "violin.wav")).channels == 2
    assert load_history(window.store)[:2] == ["violin", "a dog barking"]
    assert window.query.suggestions()[:2] == ["violin", "a dog barking"] and "crowd noise" in window.query.suggestions()

    window.results.spectrogram_box.setChecked(True)
    assert {row.view.mode for row in window.results.rows} == {SPECTROGRAM}
    window.results.rows[0].view.grab()  # paints the spectrogram image
    window.results.spectrogram_box.setChecked(False)
    assert {row.view.mode for row in window.results.rows} == {WAVEFORM}
    assert stem_mime_data(job.stems[0]).urls() == [QUrl.fromLocalFile(str(out / "violin.wav"))]

    opened: list[QUrl] = []
    monkeypatch.setattr("soundsift.gui.results.QDesktopServices.openUrl", opened.append)
    window.results.open_output_folder()
    assert opened == [QUrl.fromLocalFile(str(out))]

    request = ExportRequest(tmp_path / "export", "flac", "16", 22_050)
    with qtbot.waitSignal(window.results.export_finished, timeout=20_000) as exported:
        window.results.start_export(request)
    paths = exported.args[0]
    assert sorted(p.name for p in paths) == ["mix-a-dog-barking.flac", "mix-rest.flac", "mix-violin.flac"]
    info = soundfile.info(str(tmp_path / "export" / "mix-violin.flac"))
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("FLAC", "PCM_16", 22_050, 2 * 22_050)


def test_remove_mode_names_stems_and_playback_degrades_without_audio_output(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model, mode="remove", include_rest=False)
    assert window.remove_button.isChecked()
    separate_file(qtbot, window, tmp_path / "take.flac", "applause")
    assert [row.handle.text() for row in window.results.rows] == ["without applause", "original (the input)"]
    assert not window.results.player.available
    assert not window.results.play_button.isEnabled() and window.results.no_audio.isVisible()
    assert not window.results.rows[0].play_button.isEnabled()
    window.results.toggle_play()
    window.results.play_row(0)
    assert not window.results.player.playing


def test_bad_file_shows_its_error_while_the_queue_goes_on(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    bad = tmp_path / "broken.wav"
    bad.write_text("this is not audio")
    good = write_test_file(tmp_path / "good.wav", test_signal(RATE, 1, 1.0), RATE)
    empty_folder = tmp_path / "nothing here"
    empty_folder.mkdir()
    drop_on(window, [bad, empty_folder, good])
    window.query.setText("speech")
    window.separate()
    wait_finished(qtbot, window)

    states = {job.source.name: job for job in window.queue.jobs()}
    assert states["broken.wav"].state is JobState.FAILED
    assert states["broken.wav"].message.startswith("not a readable audio file")  # the row names the file
    assert states["nothing here"].state is JobState.FAILED
    assert "no audio files" in states["nothing here"].message
    assert states["good.wav"].state is JobState.DONE
    status = window.queue.index(window.queue.row_of(states["broken.wav"].job_id), 1).data()
    assert status.startswith("failed: ") and "not a readable audio file" in status

    assert window.results.job is states["good.wav"]
    window.queue_panel.select(states["broken.wav"])
    assert window.results.empty.isVisible() and "not a readable audio file" in window.results.empty.text()
    window.clear_finished()
    assert window.queue.jobs() == []


def test_cancel_a_long_job_writes_nothing_and_the_next_file_runs(qtbot, make_window, fast_model, tmp_path):
    window = make_window(fast_model)
    long = write_test_file(tmp_path / "long.wav", test_signal(RATE, 1, 180.0), RATE)
    short = write_test_file(tmp_path / "short.wav", test_signal(RATE, 1, 1.0), RATE)
    window.add_paths([long, short])
    window.query.setText("drums")
    window.separate()
    long_job, short_job = window.queue.jobs()
    qtbot.waitUntil(lambda: long_job.progress > 0, timeout=20_000)
    window.queue_panel.select(long_job)
    qtbot.keyClick(window.queue_panel.table, Qt.Key.Key_Escape)
    assert long_job.state in (JobState.CANCELLING, JobState.CANCELLED)
    wait_finished(qtbot, window)
    assert long_job.state is JobState.CANCELLED
    assert long_job.progress < 1.0
    assert not (tmp_path / "out" / "long").exists()
    assert short_job.state is JobState.DONE


def test_settings_persist_across_windows(qtbot, make_window, keep, tiny_model, store, tmp_path):
    window = make_window("default")
    dialog = SettingsDialog(window.settings, window)
    dialog.model.setCurrentIndex(dialog.model.findData(MODEL_FOLDER))
    dialog.model_folder.setText(str(tmp_path / "missing"))
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted and "model folder" in dialog.error.text()
    dialog.model_folder.setText(str(tiny_model))
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.output_dir.setText(str(tmp_path / "stems"))
    dialog.output_format.setCurrentIndex(dialog.output_format.findData("flac"))
    assert not dialog.bit_depth.model().item(dialog.bit_depth.findData("32f")).isEnabled()
    dialog.bit_depth.setCurrentIndex(dialog.bit_depth.findData("16"))
    dialog.include_rest.setChecked(False)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    window.apply_settings(dialog.settings())
    window.remove_button.setChecked(True)
    window.close()

    expected = AppSettings(model=str(tiny_model), engine="auto", device="cpu", output_dir=str(tmp_path / "stems"),
                           output_format="flac", bit_depth="16", include_rest=False, mode="remove")
    assert load_settings(open_store()) == expected
    again = MainWindow(open_store())
    keep(again)
    assert again.settings == expected
    assert again.remove_button.isChecked()
    assert not again.banner.isVisible() and again.banner.text() == ""


def test_missing_default_model_is_a_clear_message(qtbot, make_window, tmp_path):
    window = make_window("default")
    assert window.banner.isVisible() and window.banner.text() == NO_DEFAULT_MODEL
    separate_file(qtbot, window, tmp_path / "a.wav", "bird song", seconds=0.5)
    job = window.queue.jobs()[0]
    assert job.state is JobState.FAILED and job.message == NO_DEFAULT_MODEL


def test_separate_without_queries_or_files_says_what_is_missing(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    assert window.separate() == []
    assert "Nothing to separate" in window.statusBar().currentMessage() or window.query.queries() == []
    window.query.setText("rest")
    window.add_paths([write_test_file(tmp_path / "a.wav", test_signal(RATE, 1, 0.5), RATE)])
    assert window.separate() == []
    assert "rest" in window.statusBar().currentMessage()
    window.query.setText("")
    assert window.separate() == []
    assert "Type what to pull out" in window.statusBar().currentMessage()


def test_shortcuts_for_the_common_actions(make_window, tiny_model):
    window = make_window(tiny_model)
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for m in window.menuBar().actions()
                 for a in m.menu().actions() if not a.isSeparator()}
    assert shortcuts["Separate"] == "Ctrl+Return"
    assert shortcuts["Cancel"] == "Esc"
    assert shortcuts["Add files…"] == "Ctrl+O"
    assert shortcuts["Export stems…"] == "Ctrl+E"
    assert shortcuts["Settings…"] == "Ctrl+,"
    assert shortcuts["Play / stop"] == "Space"


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_layout_fits_common_screens(qtbot, make_window, tiny_model, size):
    window = make_window(tiny_model)
    hint = window.minimumSizeHint()
    assert hint.width() <= size[0] and hint.height() <= size[1]
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().width() == size[0])
    queue_width, results_width = window.splitter.sizes()
    assert queue_width >= 380 and results_width >= 560
    assert window.queue_panel.table.height() >= 300


def test_window_stays_responsive_while_a_3_minute_file_separates(qtbot, make_window, fast_model, tmp_path):
    """A QTimer probe on the UI thread measures its longest stall during a whole separation."""
    window = make_window(fast_model)
    window.add_paths([write_test_file(tmp_path / "three-minutes.wav", test_signal(RATE, 1, 180.0), RATE)])
    window.query.setText("a violin")
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    window.separate()
    wait_finished(qtbot, window, timeout=120_000)
    probe.stop()
    assert window.queue.jobs()[0].state is JobState.DONE
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    worst = max(gaps)
    print(f"\nUI thread: {len(ticks)} probe ticks over {ticks[-1] - ticks[0]:.1f} s, longest stall {worst * 1000:.0f} ms")
    assert worst < 1.0


def test_drag_handle_starts_a_file_drag(qtbot, make_window, tiny_model, tmp_path, monkeypatch):
    window = make_window(tiny_model)
    separate_file(qtbot, window, tmp_path / "d.wav", "hum", seconds=0.5)
    dragged: list[list[QUrl]] = []
    monkeypatch.setattr("soundsift.gui.stem_row.QDrag.exec",
                        lambda drag, *args: dragged.append(drag.mimeData().urls()) or Qt.DropAction.CopyAction)
    handle = window.results.rows[0].handle
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    qtbot.mouseMove(handle, QPoint(60, 10))
    assert dragged == [[QUrl.fromLocalFile(str(window.results.rows[0].stem.path))]]


def test_soundsift_gui_command_opens_the_window_with_files_queued(qtbot, store, tmp_path, monkeypatch):
    from soundsift.cli import main

    mix = write_test_file(tmp_path / "cli.wav", test_signal(RATE, 1, 0.5), RATE)
    seen: list[list[Path]] = []

    def exec_once(app: QApplication) -> int:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen.append([job.source for job in window.queue.jobs()])
        window.close()
        sip.delete(window)
        return 0

    monkeypatch.setattr(QApplication, "exec", exec_once)
    assert main(["gui", str(mix)]) == 0
    assert seen == [[mix]]


def test_screenshot_script_saves_the_window_after_a_separation(fast_model, tmp_path):
    script = Path(__file__).resolve().parent.parent / "scripts" / "screenshot_gui.py"
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(script), "--out", str(out), "--size", "1280x800",
                             "--model", str(fast_model), "--scheme", "dark", "--spectrogram", "--zoom", "3",
                             "--solo", "original"],
                            check=False, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_separates_on_the_onnx_engine(qtbot, keep, store, tmp_path):
    model = make_onnx_model(tmp_path / "onnx-model", seed=1)
    save_settings(store, AppSettings(model=str(model), engine="onnx", device="cpu", output_dir=str(tmp_path / "out")))
    engines: list[str] = []

    def loader(choice: ModelChoice) -> SegmentSeparator:
        separator = load_choice(choice)
        engines.append(type(separator).__name__)
        return separator

    window = MainWindow(store, loader)
    keep(window)
    separate_file(qtbot, window, tmp_path / "o.wav", "rain; a violin", channels=2)
    assert window.queue.jobs()[0].state is JobState.DONE, window.queue.jobs()[0].message
    assert engines == ["OnnxSeparator"]
    assert [stem.name for stem in window.results.job.stems] == ["rain", "a violin", "rest"]


def test_an_idle_window_can_be_destroyed_without_closing(qtbot, store, tiny_model, tmp_path):
    """Idle workers hold no thread, so a window collected before it is closed takes nothing down."""
    save_settings(store, AppSettings(model=str(tiny_model), output_dir=str(tmp_path / "out")))
    window = MainWindow(store)
    separate_file(qtbot, window, tmp_path / "i.wav", "wind", seconds=0.5)
    qtbot.waitUntil(lambda: not window.worker.isRunning())
    sip.delete(window)
