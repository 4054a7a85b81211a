"""Listening and comparing in the app: the original beside the stems, solo and level you can see, time you can read."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QApplication

from soundsift.confidence import QueryConfidence
from soundsift.gui.jobs import ModelChoice, StemPreview
from soundsift.gui.preview import make_preview
from soundsift.gui.query_marks import QueryMarks
from soundsift.gui.waveform import SPECTROGRAM, TimeRuler, WaveformView, frequency_marks, tick_step
from soundsift.vocabulary import SoundClass, Vocabulary, write_vocabulary
from tests import gui_fixtures as gui
from tests.conftest import make_model
from tests.gui_fixtures import RATE, separate_file

keep, make_window, no_sound, store = gui.keep, gui.make_window, gui.no_sound, gui.store  # fixtures, for pytest


@pytest.fixture
def separated(qtbot, make_window, tiny_model, tmp_path):
    """A window showing the stems of one file separated for 'violin' and 'a dog barking' (with the rest)."""
    window = make_window(tiny_model)
    separate_file(qtbot, window, tmp_path / "mix.wav", "violin; a dog barking", channels=2, seconds=2.0)
    return window


def audible_after(results, action) -> list[bool]:
    """What the player is told to mix after ``action()``."""
    told: list[list[bool]] = []
    results.player.set_audible = told.append
    action()
    return told[-1]


def test_the_original_is_a_row_to_play_and_solo_against_the_stems(qtbot, separated):
    results = separated.results
    job = separated.queue.jobs()[0]
    original = results.rows[-1]
    assert original.handle.text() == "original (the input)" and original.stem.path == job.source
    assert results.playable_stems() == [*job.stems, job.original]
    assert results._list_layout.indexOf(original) < results._list_layout.indexOf(results.rows[0])  # on top
    assert results._audible() == [True, True, True, False]  # Play all: the stems, not the input on top of them
    assert audible_after(results, original.solo_button.click) == [False, False, False, True]  # A ...
    assert audible_after(results, results.rows[0].solo_button.click) == [True, False, False, True]
    assert audible_after(results, original.solo_button.click) == [True, False, False, False]  # ... B
    assert separated.results.export_button.isEnabled()  # export still writes the stems only


def test_solo_is_lit_and_muted_rows_are_dimmed(qtbot, separated):
    rows = separated.results.rows
    assert not any(row.muted for row in rows)
    rows[1].solo_button.click()
    assert [row.muted for row in rows] == [True, False, True, True]
    assert rows[0].view.graphicsEffect() is not None and rows[1].view.graphicsEffect() is None
    assert "checked" in rows[1].solo_button.styleSheet()  # a lit solo, not the style's plain pressed look
    rows[1].solo_button.click()
    rows[2].level.setValue(rows[2].level.minimum())  # level off: muted too
    assert [row.muted for row in rows] == [False, False, True, False]


def test_a_level_that_pushes_a_stem_over_full_scale_shows_clip(qtbot, separated):
    row = separated.results.rows[-1]  # the original, peaking below full scale
    peak = row.stem.preview.peak_db
    assert peak < 0 and not row.clip_label.isVisibleTo(row)
    row.level.setValue(int(np.ceil(-peak)) + 1)
    assert row.clips and row.clip_label.isVisibleTo(row)
    row.level.setValue(int(np.floor(-peak)) - 1)
    assert not row.clips and not row.clip_label.isVisibleTo(row)


def test_ruler_zoom_and_scroll_move_every_picture_together(qtbot, separated):
    results = separated.results
    bar = results.time_bar
    assert bar.duration == pytest.approx(2.0) and (bar.start, bar.span) == (0.0, 1.0)
    assert not bar.scroll.isEnabled() and not bar.zoom_out_button.isEnabled()
    bar.zoom_in()
    bar.zoom_in()
    assert bar.span == pytest.approx(1 / 1.25**2) and bar.scroll.isEnabled()
    assert {(row.view.start, row.view.span) for row in results.rows} == {(bar.start, bar.span)}
    bar.scroll.setValue(bar.scroll.maximum())
    assert bar.start + bar.span == pytest.approx(1.0, abs=1e-3)
    assert {row.view.start for row in results.rows} == {bar.start}
    view = results.rows[0].view
    wheel = QWheelEvent(QPointF(0, 10), QPointF(view.mapToGlobal(QPoint(0, 10))), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    start = bar.start
    QApplication.sendEvent(view, wheel)  # Ctrl+wheel zooms in around the pointer (the left edge here)
    assert bar.span < 1 / 1.25**2 and bar.start == pytest.approx(start)
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 2, 10))
    assert seek.args[0] == pytest.approx(bar.start + bar.span / 2, abs=0.01)  # a click seeks inside the window
    bar.fit()
    assert (bar.start, bar.span) == (0.0, 1.0)


def test_a_nine_minute_file_can_be_read_to_the_second(qtbot):
    rate, seconds = 8000, 540
    t = np.arange(rate * seconds) / rate
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.floor(t) % 2)).astype(np.float32)[None]  # odd seconds sound
    preview = make_preview(audio, rate)
    assert preview.envelope.shape[1] >= 100 * seconds and preview.spectrogram.shape[1] >= 10 * seconds
    ruler = TimeRuler()
    qtbot.addWidget(ruler)
    ruler.resize(800, 24)
    ruler.set_window(seconds, 0.0, 1.0)
    labels = [label for _, label in ruler.ticks()]
    assert labels[:3] == ["0:00", "1:00", "2:00"] and labels[-1] == "9:00"
    ruler.set_window(seconds, 120 / seconds, 10 / seconds)  # zoomed to 2:00-2:10
    assert [label for _, label in ruler.ticks()][:3] == ["2:00", "2:01", "2:02"]
    view = WaveformView(preview)
    qtbot.addWidget(view)
    view.resize(800, 60)
    view.set_window(120 / seconds, 4 / seconds)  # 2:00-2:04: silence, sound, silence, sound
    image = view.grab().toImage()
    loud = [sum(image.pixelColor(x, y) != image.pixelColor(x, 1) for y in range(22, 28)) for x in (100, 300, 500, 700)]
    assert loud[0] == 0 and loud[1] > 5 and loud[2] == 0 and loud[3] > 5


def test_a_short_event_in_a_long_spectrogram_shows_when_zoomed_out(qtbot):
    picture = np.zeros((160, 10_800), np.uint8)
    picture[:, 5001] = 255  # one loud frame in nine minutes
    preview = StemPreview(np.zeros((2, 54_000), np.float32), picture, -6.0, 540.0, 40.0, 22_050.0)
    view = WaveformView(preview)
    qtbot.addWidget(view)
    view.resize(400, 60)
    view.set_mode(SPECTROGRAM)
    image = view.grab().toImage()
    assert max(image.pixelColor(x, 30).lightness() for x in range(400)) > 200  # not skipped between pixels


def test_ticks_and_frequency_labels():
    assert tick_step(540, 800) == 60 and tick_step(10, 800) == 1 and tick_step(1, 800) == 0.1
    marks = frequency_marks(40.0, 22_050.0)
    assert [label for _, label in marks] == ["100 Hz", "1 kHz", "10 kHz"]
    assert all(0 < a < b < 1 for (a, _), (b, _) in itertools.pairwise(marks))
    assert [label for _, label in frequency_marks(40.0, 8000.0)] == ["100 Hz", "1 kHz"]


def test_spectrograms_carry_frequency_labels(qtbot):
    view = WaveformView(make_preview(np.zeros((1, RATE), np.float32), RATE))  # a silent stem: a dark picture
    qtbot.addWidget(view)
    view.resize(600, 200)
    view.set_mode(SPECTROGRAM)
    image = view.grab().toImage()
    fraction, _ = next(mark for mark in frequency_marks(40.0, RATE / 2) if mark[1] == "1 kHz")
    line = round(view.height() - fraction * view.height())
    text_rows = range(line - view.fontMetrics().height() // 2 + 2, line - 1)  # the label sits on its line

    def bright(xs: range) -> int:
        return sum(image.pixelColor(x, y).lightness() > 150 for x in xs for y in text_rows)

    assert bright(range(4, 40)) > 10  # the label's letters
    assert bright(range(300, 336)) == 0  # nothing but the dark picture further right


def test_the_model_in_use_is_shown(qtbot, make_window, tiny_model, tmp_path):
    window = make_window(tiny_model)
    assert window.model_label.text() == f"Model: {tiny_model.name}" and str(tiny_model) in window.model_label.toolTip()
    other = make_model(tmp_path / "other-model", seed=4)
    window.use_model(str(other))
    assert window.model_label.text() == "Model: other-model"


def test_typed_queries_get_marks_with_the_nearest_known_sounds(qtbot, make_window, tmp_path):
    model = make_model(tmp_path / "with-vocabulary", seed=2)
    write_vocabulary(model, Vocabulary((SoundClass("violin", "music", ("a violin plays",)),
                                        SoundClass("rain", "sfx", ("rain falls",))), threshold=1.01))
    window = make_window(model)
    qtbot.keyClicks(window.query, "violin; qwertyuiop")  # no file and no separation needed
    qtbot.waitUntil(lambda: len(window.query_marks.marks) == 2, timeout=20_000)
    marks = window.query_marks.marks
    assert [mark.text() for mark in marks] == ["? violin", "? qwertyuiop"]  # a threshold above 1 knows nothing
    assert "nearest known sounds: " in marks[1].toolTip() and "violin" in marks[1].toolTip()
    assert window.worker.models.holds(ModelChoice(str(model), "auto", "auto"))  # loaded once, for the worker too
    window.query.setText("violin")
    assert [mark.text() for mark in window.query_marks.marks] == ["? violin"]
    window.use_model(str(make_model(tmp_path / "no-vocabulary", seed=4)))  # another model: the old scores go
    assert window.query_marks.marks == [] and not window.query_marks.isVisibleTo(window)


def test_marks_say_known_and_unknown(qtbot):
    marks = QueryMarks()
    qtbot.addWidget(marks)
    scores = {"rain": QueryConfidence(0.93, True, ["rain", "wind"]), "vocals": QueryConfidence(0.31, False, ["a choir"])}
    marks.show_marks(["rain", "vocals", "typed only"], scores)
    assert [m.text() for m in marks.marks] == ["✓ rain", "? vocals"]
    assert "not a sound this model knows well" in marks.marks[1].toolTip() and "a choir" in marks.marks[1].toolTip()
