"""The desktop app's parts on their own: settings, queries, previews, the mixer, export, model loading, worker."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

import soundfile
from PyQt6 import sip
from PyQt6.QtCore import QObject, QThreadPool
from PyQt6.QtMultimedia import QAudioDevice
from PyQt6.QtWidgets import QApplication

from soundsift.errors import AudioError, NoDefaultModelError
from soundsift.gui import loader
from soundsift.gui.export import ExportRequest, export_stems
from soundsift.gui.export_dialog import ExportDialog
from soundsift.gui.jobs import JobRequest, ModelChoice
from soundsift.gui.playback import MixSource, Player
from soundsift.gui.preview import LOWEST_HZ, envelope, make_preview, spectrogram
from soundsift.gui.query_field import QueryField, split_queries
from soundsift.gui.settings import (
    HISTORY_LIMIT,
    AppSettings,
    load_history,
    load_settings,
    open_store,
    remember_queries,
    save_settings,
)
from soundsift.gui.suggestions import preset_queries
from soundsift.gui.tasks import run_in_background
from soundsift.gui.worker import SeparationWorker
from soundsift.presets import PresetEntry
from soundsift.separation import SegmentSeparator, SeparationOptions
from soundsift.separator import Separator
from tests import gui_fixtures as gui
from tests.conftest import test_signal, write_test_file

store = gui.store  # a fixture, for pytest


def test_settings_round_trip_and_bad_values_fall_back_per_field(store, tmp_path):
    settings = AppSettings(model="/models/mine", engine="onnx", device="cpu", output_dir=str(tmp_path),
                           output_format="flac", bit_depth="16", include_rest=False, mode="remove")
    save_settings(store, settings)
    assert load_settings(open_store()) == settings
    store.setValue("settings/device", "tpu")
    store.setValue("settings/bit_depth", "32f")  # FLAC cannot hold float samples
    store.setValue("settings/include_rest", "maybe")
    loaded = load_settings(store)
    assert (loaded.device, loaded.bit_depth, loaded.include_rest) == ("auto", AppSettings().bit_depth, True)
    assert (loaded.model, loaded.engine, loaded.output_format, loaded.mode) == ("/models/mine", "onnx", "flac", "remove")


def test_history_is_most_recent_first_without_repeats_and_bounded(store):
    assert load_history(store) == []
    remember_queries(store, ["violin"])
    assert load_history(open_store()) == ["violin"]  # a one-item list survives the INI round trip
    remember_queries(store, ["a dog barking", "violin"])
    assert load_history(store) == ["a dog barking", "violin"]
    remember_queries(store, [f"q{i}" for i in range(HISTORY_LIMIT + 5)])
    assert len(load_history(store)) == HISTORY_LIMIT


def test_split_queries():
    assert split_queries(" violin ;a dog barking;; violin; ") == ["violin", "a dog barking"]
    assert split_queries("") == []


def test_query_field_completes_the_query_being_typed(qtbot):
    field = QueryField()
    qtbot.addWidget(field)
    field.set_suggestions(["a dog barking", "violin", "a dog barking"])
    assert field.suggestions() == ["a dog barking", "violin"]
    field.setText("violin; dog")
    assert field.current_part() == "dog"
    field.query_completer.setCompletionPrefix(field.current_part())
    assert field.query_completer.currentCompletion() == "a dog barking"
    field.insert_completion("a dog barking")
    assert field.text() == "violin; a dog barking"
    assert field.queries() == ["violin", "a dog barking"]
    field.setText("")
    field.insert_completion("violin")
    assert field.queries() == ["violin"]


def test_envelope_and_spectrogram():
    t = np.arange(16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    env = envelope(tone, columns=100)
    assert env.shape == (2, 100) and np.allclose(env[0], -0.5, atol=0.01) and np.allclose(env[1], 0.5, atol=0.01)
    assert envelope(tone[:10], columns=100).shape == (2, 10)
    spec = spectrogram(tone, 16_000, frames=20, rows=100)
    assert spec.shape == (100, 20) and spec.dtype == np.uint8
    edges = np.geomspace(LOWEST_HZ, 8000, 101)
    row = int(np.argmax(spec.mean(axis=1)))
    assert edges[row] - 8 <= 1000 <= edges[row + 1] + 8  # the tone's band (within one FFT bin)
    assert spec[row].min() > 200 and np.median(spec) < 100
    assert spectrogram(np.zeros(100, np.float32), 16_000).max() == 0
    preview = make_preview(np.stack([tone, tone]), 16_000)
    assert preview.duration == 1.0 and abs(preview.peak_db - 20 * np.log10(0.5)) < 0.01
    assert make_preview(np.zeros((1, 10), np.float32), 16_000).peak_db == -np.inf


def test_mixer_plays_the_audible_stems_at_their_levels(qtbot):
    a = np.full((2, 1000), 0.25, np.float32)
    b = np.full((2, 1000), -0.5, np.float32)
    source = MixSource([a, b], start_frame=100)
    source.start()
    assert source.bytesAvailable() == 900 * 2 * 2

    def pcm(nbytes: int) -> np.ndarray:
        return np.frombuffer(bytes(source.read(nbytes)), dtype="<i2").reshape(-1, 2).T

    assert np.all(pcm(40) == round(-0.25 * 32767))
    source.audible = [True, False]
    assert np.all(pcm(40) == round(0.25 * 32767))
    source.gains = [4.0, 1.0]  # clipped, never wrapped around
    assert np.all(pcm(40) == 32767)
    source.audible = [False, False]
    assert np.all(pcm(40) == 0)
    rest = pcm(10**6)
    assert rest.shape == (2, 1000 - 100 - 40) and source.bytesAvailable() == 0
    assert bytes(source.read(100)) == b""


def test_export_converts_format_bit_depth_and_rate(tmp_path):
    (tmp_path / "stems").mkdir()
    stem = write_test_file(tmp_path / "stems" / "violin.wav", test_signal(48_000, 2, 0.5), 48_000, "FLOAT")
    request = ExportRequest(tmp_path / "export", "wav", "24", 16_000)
    written = export_stems("My Song", [("violin", stem)], request)
    assert written == [tmp_path / "export" / "my-song-violin.wav"]
    info = soundfile.info(str(written[0]))
    assert (info.subtype, info.samplerate, info.channels, info.frames) == ("PCM_24", 16_000, 2, 8000)
    kept = export_stems("t", [("violin", stem)], ExportRequest(tmp_path / "same", "flac", "16"))
    assert soundfile.info(str(kept[0])).samplerate == 48_000
    with pytest.raises(AudioError, match="cannot store 32f"):
        export_stems("t", [("violin", stem)], ExportRequest(tmp_path / "x", "flac", "32f"))
    with pytest.raises(AudioError, match="outside"):
        export_stems("t", [("violin", stem)], ExportRequest(tmp_path / "x", "wav", "16", 1000))
    other = write_test_file(tmp_path / "stems" / "a-violin.wav", test_signal(48_000, 2, 0.5), 48_000)
    with pytest.raises(AudioError, match="refusing to overwrite"):  # 'a' + 'violin' would land on stem 'a violin'
        export_stems("a", [("violin", stem), ("a violin", other)], ExportRequest(tmp_path / "stems", "wav", "16"))
    assert not (tmp_path / "x").exists()


def test_export_dialog_reads_back_the_choices(qtbot, tmp_path):
    dialog = ExportDialog(ExportRequest(tmp_path, "wav", "32f", None))
    qtbot.addWidget(dialog)
    assert dialog.request() == ExportRequest(tmp_path, "wav", "32f", None)
    dialog.output_format.setCurrentIndex(dialog.output_format.findData("flac"))
    dialog.sample_rate.setCurrentIndex(dialog.sample_rate.findData(44_100))
    assert dialog.request() == ExportRequest(tmp_path, "flac", "24", 44_100)


def test_loader_hands_model_engine_and_device_to_load_model(monkeypatch, tiny_model):
    calls: list[tuple] = []
    monkeypatch.setattr("soundsift.load_model", lambda name, device, engine: calls.append((name, device, engine)))
    loader.load_choice(ModelChoice("default", "onnx", "cpu"))
    loader.load_choice(ModelChoice(str(tiny_model), "torch", "auto"))
    assert calls == [(None, "cpu", "onnx"), (str(tiny_model), "auto", "torch")]


def test_model_problem_names_what_is_wrong(tiny_model, tmp_path):
    assert loader.model_problem(str(tiny_model)) == ""
    assert loader.model_problem("default") == loader.NO_DEFAULT_MODEL
    assert "no such model directory" in loader.model_problem(str(tmp_path / "gone"))
    assert "unknown model 'nope'" in loader.model_problem("nope")
    with pytest.raises(NoDefaultModelError, match="Open Settings"):
        loader.load_choice(ModelChoice("default", "auto", "cpu"))


def test_worker_reports_each_file_and_survives_unexpected_errors(qtbot, tiny_model, tmp_path):
    good = write_test_file(tmp_path / "good.wav", test_signal(16_000, 1, 0.5), 16_000)
    loads: list[str] = []

    def flaky_loader(choice: ModelChoice) -> SegmentSeparator:
        loads.append(choice.model)
        if choice.model == "explodes":
            raise RuntimeError("out of memory")
        return Separator.load(choice.model, device="cpu")

    def request(job_id: int, model: str) -> JobRequest:
        outputs = {"hum": tmp_path / f"out{job_id}" / "hum.wav"}
        return JobRequest(job_id, good, outputs, SeparationOptions(include_rest=False), "16",
                          ModelChoice(model, "auto", "cpu"))

    worker = SeparationWorker(flaky_loader)
    events: list[tuple] = []
    worker.job_done.connect(lambda i, stems, original: events.append(("done", i, [s.name for s in stems],
                                                                       original.path)))
    worker.job_failed.connect(lambda i, m: events.append(("failed", i, m)))
    worker.job_cancelled.connect(lambda i: events.append(("cancelled", i)))
    try:
        worker.submit(request(1, "explodes"))
        worker.cancel(2)
        worker.submit(request(2, str(tiny_model)))  # submitting again clears an earlier cancel
        worker.submit(request(3, str(tiny_model)))
        worker.cancel(3)
        worker.submit(request(4, str(tiny_model)))
        qtbot.waitUntil(lambda: len(events) == 4, timeout=20_000)
        qtbot.waitUntil(lambda: not worker.isRunning())  # no thread while idle
        worker.submit(request(5, str(tiny_model)))  # and a new one for new work
        qtbot.waitUntil(lambda: len(events) == 5, timeout=20_000)
        worker.stop()
        worker.submit(request(6, str(tiny_model)))  # refused once stopped
    finally:
        worker.stop()
        worker.wait()
    assert events[0][:2] == ("failed", 1) and "out of memory" in events[0][2]
    assert "RuntimeError" not in events[0][2]  # no Python exception names in what the user reads
    assert events[1:] == [("done", 2, ["hum"], good), ("cancelled", 3), ("done", 4, ["hum"], good),
                          ("done", 5, ["hum"], good)]
    assert loads == ["explodes", str(tiny_model)]  # one load per model choice


def test_player_reports_an_audio_output_that_cannot_open(qtbot, monkeypatch):
    class NoDevice:
        @staticmethod
        def defaultAudioOutput() -> QAudioDevice:
            return QAudioDevice()

    monkeypatch.setattr("soundsift.gui.playback.QMediaDevices", NoDevice)
    player = Player()
    assert not player.available
    player.play()  # nothing loaded, no device: a no-op
    player.available = True  # as if the device vanished after it was listed
    player.load([np.zeros((1, 1600), np.float32)], 16_000)
    with qtbot.waitSignal(player.failed) as failed:
        player.play()
    assert not player.playing and "could not be opened" in failed.args[0]
    player.stop()


def test_the_app_starts_without_importing_torch_or_training():
    """The window imports no torch (the ONNX engine can run it torch-free) and no training code."""
    code = ("import sys, soundsift.gui.app; "
            "print([m for m in sys.modules if m == 'torch' or m.startswith('soundsift.training')])")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_preset_queries_complete_the_query_field(monkeypatch):
    queries = preset_queries()
    assert "crowd noise" in queries and len(queries) == len(set(queries))  # a chain's stem
    assert {"a man speaking", "rain", "wind"} <= set(queries)  # query presets too
    broken = PresetEntry("missing", Path("missing.toml"), "user")
    monkeypatch.setattr("soundsift.gui.suggestions.list_presets", lambda: [broken])
    assert preset_queries() == []  # a preset that does not load is skipped


def test_a_task_outcome_arriving_after_its_owner_is_gone_reaches_nothing(qtbot):
    owner = QObject()
    reached: list[object] = []
    run_in_background(owner, lambda: 1, reached.append, reached.append)
    assert QThreadPool.globalInstance().waitForDone(10_000)  # the outcome is posted, not yet delivered
    sip.delete(owner)  # e.g. the window was destroyed meanwhile
    QApplication.processEvents()
    assert reached == []
    kept = QObject()
    run_in_background(kept, lambda: 2, reached.append, reached.append)
    qtbot.waitUntil(lambda: reached == [2])


def test_a_task_finishing_after_its_owner_is_gone_raises_nothing(qtbot):
    owner = QObject()
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(10)
        return 1

    run_in_background(owner, slow, print, print)
    assert started.wait(10)
    sip.delete(owner)  # the carrier goes with its owner while the task still runs
    with qtbot.capture_exceptions() as caught:
        release.set()
        assert QThreadPool.globalInstance().waitForDone(10_000)
    assert caught == []
