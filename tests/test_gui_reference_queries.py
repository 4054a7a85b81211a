"""The desktop app: a reference clip dropped on the window's clip zone becomes a query."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from PyQt6.QtCore import Qt

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.gui.jobs import JobState
from soundsift.model import init_model, save_checkpoint
from tests import gui_fixtures as gui
from tests.conftest import TINY, test_signal, write_test_file
from tests.gui_fixtures import RATE, drop_on, wait_finished

keep, make_window, no_sound, store = gui.keep, gui.make_window, gui.no_sound, gui.store  # fixtures, for pytest


@pytest.fixture(scope="module")
def clap_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact")), seed=2)
    return save_checkpoint(tmp_path_factory.mktemp("m") / "clap-tiny", net, enc)


def test_a_dropped_reference_clip_is_a_query(qtbot, make_window, clap_model, tmp_path):
    window = make_window(clap_model)
    mix = write_test_file(tmp_path / "mix.wav", test_signal(RATE, 2, 2.0), RATE)
    ref = write_test_file(tmp_path / "dog.wav", test_signal(RATE, 1, 3.0, seed=9), RATE)
    silent = write_test_file(tmp_path / "quiet.wav", np.zeros((1, RATE), np.float32), RATE, "PCM_16")
    window.add_paths([mix])
    drop_on(window.references, [ref])
    assert [q.name for q in window.references.audio_queries()] == ["like dog"]
    assert len(window.queue.jobs()) == 1  # the clip went to the query zone, not the queue
    drop_on(window.references, [silent])
    assert "quiet.wav: the example is silent" in window.statusBar().currentMessage()
    assert len(window.references.audio_queries()) == 1

    qtbot.keyClicks(window.query, "violin")
    qtbot.mouseClick(window.separate_button, Qt.MouseButton.LeftButton)
    wait_finished(qtbot, window)
    job = window.queue.jobs()[0]
    assert job.state is JobState.DONE, job.message
    assert job.request.model.engine == "torch"
    assert [s.name for s in job.stems] == ["violin", "like dog", "rest"]
    assert sorted(p.name for p in (tmp_path / "out" / "mix").glob("*.wav")) == ["like-dog.wav", "rest.wav", "violin.wav"]

    window.references.clear()
    window.query.clear()
    assert window.separate() == []  # no query left at all
