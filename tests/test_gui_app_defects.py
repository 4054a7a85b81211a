"""The desktop app does what its keys say, asks before it loses anything, and never shows Python in its messages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from PyQt6.QtCore import QEvent, QMimeData, QPointF, QRect, Qt, QUrl
from PyQt6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QMouseEvent, QPainter
from PyQt6.QtWidgets import QApplication, QDialog, QPushButton, QStyleOptionViewItem, QTableView

from soundsift.gui import dialogs
from soundsift.gui.export import ExportRequest
from soundsift.gui.jobs import JobState
from soundsift.gui.loss_plot import LossPlot
from soundsift.gui.messages import in_app_words
from soundsift.gui.queue_model import PROGRESS, QueueModel
from soundsift.gui.queue_panel import ProgressDelegate
from soundsift.gui.settings import AppSettings
from soundsift.gui.settings_dialog import NO_GPU, SettingsDialog
from soundsift.queries import AUDIO_QUERY_HELP
from tests import gui_fixtures as gui
from tests.conftest import test_signal, write_test_file
from tests.gui_fixtures import RATE, separate_file, wait_finished

keep, make_window, no_sound, store = gui.keep, gui.make_window, gui.no_sound, gui.store  # fixtures, for pytest


class Answers:
    """The questions the app asked (their titles) and the reply it gets to the next ones."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.reply = True

    def confirm(self, parent, title: str, text: str, action: str) -> bool:
        self.asked.append(title)
        return self.reply


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """Every question the app asks is recorded and answered yes, unless a test sets ``reply`` to False."""
    replies = Answers()
    monkeypatch.setattr(dialogs, "confirm", replies.confirm)
    return replies


@pytest.fixture
def separated(qtbot, make_window, tiny_model, tmp_path):
    """A window that has separated one short file for 'violin'."""
    window = make_window(tiny_model)
    separate_file(qtbot, window, tmp_path / "mix.wav", "violin")
    assert window.results.rows
    return window


def fake_running(window, path: Path):
    """A queue row that looks like a file the worker is separating (the worker itself is not involved)."""
    job = window.queue.add(path)
    window.queue.update(job.job_id, state=JobState.RUNNING, progress=0.3)
    return job


def test_esc_cancels_the_running_file_though_the_finished_one_is_selected(qtbot, separated, tmp_path, monkeypatch):
    window = separated
    cancelled: list[int] = []
    monkeypatch.setattr(window.worker, "cancel", cancelled.append)
    running = fake_running(window, tmp_path / "long.wav")
    window.queue_panel.select(window.queue.jobs()[0])  # what the app does when a file finishes
    qtbot.keyClick(window.queue_panel.table, Qt.Key.Key_Escape)
    assert running.state is JobState.CANCELLING and cancelled == [running.job_id]


def test_progress_bars_fill_from_left_to_right(qtbot):
    model = QueueModel()
    job = model.add(Path("a.wav"))
    model.update(job.job_id, state=JobState.RUNNING, progress=0.5)
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    image = QImage(200, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 200, 30)
    option.widget = table
    painter = QPainter(image)
    ProgressDelegate(table).paint(painter, option, model.index(0, PROGRESS))
    painter.end()
    highlight = table.palette().color(table.palette().ColorRole.Highlight)

    def filled(x: int, y: int) -> bool:
        pixel = image.pixelColor(x, y)
        return abs(pixel.hue() - highlight.hue()) < 20 and pixel.saturation() > 60

    assert filled(30, 8) and filled(30, 22)  # the left half is full from top to bottom
    assert not filled(170, 8) and not filled(170, 22)  # the right half is empty


def test_tab_reaches_every_control_and_leaves_the_queue(qtbot, separated):
    window = separated
    results = window.results
    results.play_button.setEnabled(True)  # as with an audio device
    for row in results.rows:
        row.set_playable(True)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.query.setFocus()
    seen = []
    for _ in range(60):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    buttons = {b.text(): b for b in window.queue_panel.findChildren(QPushButton)}
    wanted = [buttons["Add files…"], buttons["Cancel"], results.play_button, results.export_button,
              results.folder_button]
    for row in results.rows:
        wanted += [row.play_button, row.solo_button, row.level]
    missing = [w.toolTip() or w.text() for w in wanted if w not in seen]
    assert not missing
    first = seen.index(window.queue_panel.table)
    assert seen[first + 1] is not window.queue_panel.table  # one Tab leaves the table
    assert seen.index(buttons["Add files…"]) < seen.index(results.play_button) < seen.index(results.rows[0].play_button)


def test_space_presses_the_focused_button_and_plays_elsewhere(qtbot, separated, monkeypatch):
    window = separated
    played: list[bool] = []
    monkeypatch.setattr(window.results.player, "stop", lambda: played.append(False))  # what Play/stop would call
    window.results.player._stems = [np.zeros((1, 10), np.float32)]  # loaded, so Play/stop acts
    monkeypatch.setattr(window.results.player, "play", lambda start=0.0: played.append(True))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    solo = window.results.rows[0].solo_button
    solo.setFocus()
    qtbot.keyClick(solo, Qt.Key.Key_Space)
    assert solo.isChecked() and played == []  # the focused button took the key
    window.queue_panel.table.setFocus()
    qtbot.keyClick(window.queue_panel.table, Qt.Key.Key_Space)
    assert played == [True]  # elsewhere Space still plays


def test_a_rerun_clears_the_old_stems_and_a_failed_rerun_shows_the_failure(qtbot, separated, answers):
    window = separated
    job = window.queue.jobs()[0]
    window.queue_panel.select(job)
    window.query.setText("a dog barking")
    assert window.separate() == [job]
    assert window.results.rows == [] and window.results.shown is job  # nothing old while it runs
    assert "has no stems yet" in window.results.empty.text()
    assert answers.asked == ["Replace earlier stems?"]
    wait_finished(qtbot, window)
    assert window.results.rows[0].handle.text() == "a dog barking"
    track = job.stems[0].path.parent  # the earlier run's stems gave way to this run's as a whole
    assert sorted(p.name for p in track.iterdir() if not p.name.startswith(".")) == ["a-dog-barking.wav", "rest.wav"]

    job.source.write_bytes(b"not audio at all")
    window.separate()
    wait_finished(qtbot, window)
    assert job.state is JobState.FAILED
    assert window.results.rows == [] and job.source.name in window.results.empty.text()


def test_declining_to_replace_earlier_stems_runs_nothing(qtbot, separated, answers, tmp_path):
    window = separated
    job = window.queue.jobs()[0]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "mix").iterdir()}
    answers.reply = False
    window.queue_panel.select(job)
    assert window.separate() == []
    assert job.state is JobState.DONE and window.results.rows
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "mix").iterdir()} == before


def test_one_query_remove_mode_has_no_duplicate_rest(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model, mode="remove", include_rest=True)
    separate_file(qtbot, window, tmp_path / "take.wav", "applause")
    assert [row.handle.text() for row in window.results.rows] == ["without applause", "original (the input)"]
    assert sorted(p.name for p in (tmp_path / "out" / "take").iterdir()) == [".soundsift.json", "without-applause.wav"]


def test_settings_refuse_a_folder_that_cannot_be_made_and_a_missing_gpu(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("soundsift.gui.settings_dialog.nvidia_driver_present", lambda: False)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    dialog = SettingsDialog(AppSettings(output_dir=str(blocker / "stems"), device="cuda"))
    qtbot.addWidget(dialog)
    cuda = dialog.device.model().item(dialog.device.findData("cuda"))
    assert not cuda.isEnabled()
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.error.text() == NO_GPU
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.accept()
    assert "cannot be made" in dialog.error.text() and str(blocker) in dialog.error.text()
    dialog.output_dir.setText(str(tmp_path / "new" / "stems"))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_messages_name_the_apps_settings_not_command_line_options(qtbot, separated):
    assert "--" not in in_app_words(AUDIO_QUERY_HELP) and "Settings > Engine: PyTorch" in in_app_words(AUDIO_QUERY_HELP)
    assert in_app_words("pass --model with a folder") == "choose Settings > Model with a folder"
    window = separated
    job = window.queue.jobs()[0]
    window._job_failed(job.job_id, "half precision applies to the torch engine (use --engine torch)")
    assert "--engine" not in job.message and "--engine" not in window.statusBar().currentMessage()


def test_closing_while_a_file_separates_asks_first(qtbot, separated, answers, tmp_path):
    window = separated
    fake_running(window, tmp_path / "long.wav")
    answers.reply = False
    window.close()
    assert window.isVisible() and answers.asked == ["Quit soundsift?"]
    answers.reply = True
    window.close()
    assert not window.isVisible()


def test_export_over_existing_files_asks_first(qtbot, separated, answers, tmp_path, monkeypatch):
    window = separated
    request = ExportRequest(tmp_path / "export")

    class Accept:
        def __init__(self, *args) -> None:
            pass

        def exec(self) -> QDialog.DialogCode:
            return QDialog.DialogCode.Accepted

        def request(self) -> ExportRequest:
            return request

    monkeypatch.setattr("soundsift.gui.results.ExportDialog", Accept)
    with qtbot.waitSignal(window.results.export_finished, timeout=20_000):
        window.results.ask_export()
    assert answers.asked == []
    started: list[ExportRequest] = []
    monkeypatch.setattr(window.results, "start_export", started.append)
    answers.reply = False
    window.results.ask_export()
    assert answers.asked == ["Replace exported files?"] and started == []
    answers.reply = True
    window.results.ask_export()
    assert started == [request]


def test_open_folder_says_when_no_file_manager_opens_and_its_tooltip_names_its_key(qtbot, separated, monkeypatch):
    window = separated
    monkeypatch.setattr("soundsift.gui.results.QDesktopServices.openUrl", lambda url: False)
    with qtbot.waitSignal(window.results.message) as said:
        window.results.open_output_folder()
    assert "No file manager" in said.args[0] and "mix" in said.args[0]
    action = next(a for menu in window.menuBar().actions() for a in menu.menu().actions()
                  if a.text() == "Open output f&older")
    assert action.shortcut().toString() in window.results.folder_button.toolTip()


def test_delete_removes_waiting_files_but_not_the_running_one(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    first, second = (write_test_file(tmp_path / f"{n}.wav", test_signal(RATE, 1, 0.5), RATE) for n in "ab")
    window.add_paths([first, second])
    running = fake_running(window, tmp_path / "c.wav")
    window.queue_panel.table.selectAll()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.queue_panel.table.setFocus()
    qtbot.keyClick(window.queue_panel.table, Qt.Key.Key_Delete)
    assert window.queue.jobs() == [running]


def test_adding_a_queued_file_again_does_not_duplicate_it(qtbot, separated, tmp_path):
    window = separated
    job = window.queue.jobs()[0]
    window.add_paths([job.source, tmp_path / "mix.wav"])
    assert window.queue.jobs() == [job] and job.state is JobState.READY  # ready to run again, same row
    window.add_paths([job.source])
    assert window.queue.jobs() == [job]


def test_a_stem_is_not_queued_as_an_input(qtbot, separated, make_window, tiny_model):
    window = separated
    stem = window.queue.jobs()[0].stems[0].path
    assert window.add_paths([stem]) == []
    assert len(window.queue.jobs()) == 1
    assert make_window(tiny_model).add_paths([stem]) == []  # nor in a new window (its folder says it is a stem)


def test_drops_are_copies_never_moves_and_light_up_the_window(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    path = write_test_file(tmp_path / "mix.wav", test_signal(RATE, 1, 0.5), RATE)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    both = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    center = window.rect().center()
    enter = QDragEnterEvent(center, both, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    enter.setDropAction(Qt.DropAction.MoveAction)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    assert window.centralWidget().styleSheet()  # highlighted while the drag is over the window
    dropped = QDropEvent(QPointF(center), both, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, dropped)
    assert dropped.dropAction() == Qt.DropAction.CopyAction
    assert [job.source for job in window.queue.jobs()] == [path] and path.exists()
    assert not window.centralWidget().styleSheet()


def test_a_click_that_closes_the_suggestions_still_presses_the_button(qtbot, make_window, tiny_model):
    window = make_window(tiny_model)
    window.query.set_suggestions(["violin", "viola"])
    window.query.setText("vio")
    window.query.show_all_suggestions()
    popup = window.query.query_completer.popup()
    qtbot.waitUntil(popup.isVisible)
    pressed: list[bool] = []
    button = next(b for b in window.queue_panel.findChildren(QPushButton) if b.text() == "Add files…")
    button.pressed.connect(lambda: pressed.append(True))
    target = button.mapToGlobal(button.rect().center())
    assert not popup.geometry().contains(target)
    press = QMouseEvent(QEvent.Type.MouseButtonPress, QPointF(popup.mapFromGlobal(target)), QPointF(target),
                        Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(popup, press)  # while the popup is open, it receives every click
    assert not popup.isVisible() and pressed == [True]


def test_the_status_bar_says_separating_until_the_run_ends_then_how_it_ended(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    good = write_test_file(tmp_path / "good.wav", test_signal(RATE, 1, 0.5), RATE)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    window.add_paths([good, bad])
    window.query.setText("violin")
    window.separate()
    assert window.statusBar().currentMessage().startswith("Separating 2 file(s)")
    wait_finished(qtbot, window)
    message = window.statusBar().currentMessage()
    assert message.startswith("Finished separating: 1 done, 1 failed") and "Separating" not in message


def test_the_finetune_window_fits_a_small_screen(qtbot, separated):
    page = separated.open_finetune()
    available = page.screen().availableGeometry()
    assert page.width() <= available.width() and page.height() <= available.height()
    page.close()


def test_a_queue_row_tells_folder_length_and_format_on_hover(separated):
    model = separated.queue
    tip = model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    source = model.jobs()[0].source
    assert tip.splitlines()[:3] == [source.name, f"in {source.parent}", "0:01 · WAV · 16000 Hz · mono"]


def test_the_finetune_plot_labels_are_not_cut_off(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.clear(100)
    plot.add_loss(10, 0.123456)
    plot.add_score(50, -12.3456)
    room = plot.margin() - 6
    for label in ("loss", "SDRi dB", "0.123", "-12.3"):
        assert plot.fontMetrics().horizontalAdvance(label) <= room, label
