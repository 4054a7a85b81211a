"""The app's Presets menu (the same query presets as the command line) and ``soundsift-gui --self-test``."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pytestqt")

from soundsift.audio import read_audio
from soundsift.gui.jobs import JobState
from soundsift.gui.self_test import builtin_clip, check_stems
from soundsift.gui.window import MainWindow
from soundsift.presets import import_preset, read_preset
from tests import gui_fixtures as gui
from tests.conftest import test_signal, write_test_file
from tests.gui_fixtures import RATE
from tests.test_onnx import make_onnx_model

keep, make_window, no_sound, store = gui.keep, gui.make_window, gui.no_sound, gui.store  # fixtures, for pytest


@pytest.fixture
def window(make_window, tmp_path: Path, half_model: Path) -> MainWindow:
    """The main window on a model whose masks are all 0.5, with one user preset imported."""
    (tmp_path / "mine.toml").write_text('format = 1\nname = "Birdsong"\nqueries = ["birds chirping"]\n')
    import_preset(tmp_path / "mine.toml")
    return make_window(half_model, bit_depth="32f")


def pick(window: MainWindow, name: str) -> None:
    menu = window.preset_button.menu()
    next(a for a in menu.actions() if a.text() == name).trigger()


def test_the_menu_offers_the_query_presets_user_ones_first(window):
    names = [a.text() for a in window.preset_button.menu().actions()]
    assert names[0] == "Birdsong"
    assert {"Dialogue", "Strings", "Brass", "Rain and wind", "Remove crowd", "Duck engine noise"} <= set(names)
    assert "Vocal reverb" not in names  # chain presets run in chains, not in the query field
    assert {"birds chirping", "a man speaking", "crowd noise"} <= set(window.query.suggestions())
    tip = next(a for a in window.preset_button.menu().actions() if a.text() == "Rain and wind").toolTip()
    assert "extract: rain; wind (-3 dB)" in tip


def test_a_preset_fills_queries_and_mode_and_its_levels_apply(qtbot, window, tmp_path):
    audio = test_signal(RATE, 2, 0.6)
    source = write_test_file(tmp_path / "car.wav", audio, RATE, "FLOAT")
    window.add_paths([source])
    pick(window, "Duck engine noise")
    assert window.query.queries() == ["an engine running"] and window.mode() == "remove"
    window.separate()
    qtbot.waitUntil(lambda: all(job.state.finished for job in window.queue.jobs()), timeout=30_000)
    job = window.queue.jobs()[0]
    assert job.state is JobState.DONE, job.message
    ducked, _ = read_audio(tmp_path / "out" / "car" / "without-an-engine-running.wav")
    np.testing.assert_allclose(ducked, audio - 0.5 * audio * (1 - 10 ** (-12 / 20)), atol=1e-5)

    window.extract_button.setChecked(True)  # another mode: the preset's levels no longer apply
    assert window.preset_levels(["an engine running"]) == {}
    pick(window, "Rain and wind")
    assert window.query.text() == "rain; wind" and window.preset_levels(["rain", "wind"]) == {"wind": -3.0}
    assert window.preset_levels(["rain"]) == {}


def test_the_builtin_clip_is_deterministic_and_the_checks_can_fail():
    clip = builtin_clip()
    assert clip.shape == (2, 3 * 44_100) and clip.dtype == np.float32 and 0.3 < np.abs(clip).max() < 0.9
    np.testing.assert_array_equal(clip, builtin_clip())
    half = {"a": 0.5 * clip, "rest": 0.5 * clip}
    check_stems(clip, half, ["a"])
    with pytest.raises(AssertionError, match="do not add up"):
        check_stems(clip, {"a": 0.5 * clip, "rest": 0.4 * clip}, ["a"])
    with pytest.raises(AssertionError, match="NaN"):
        check_stems(clip, {"a": clip * np.nan, "rest": clip}, ["a"])
    with pytest.raises(AssertionError, match="louder"):
        check_stems(clip, {"a": 3 * clip, "rest": -2 * clip}, ["a"])


SELF_TEST = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError(f"{name} imported by the self-test")
        return None
sys.meta_path.insert(0, Block())
from soundsift.gui.app import main
raise SystemExit(main(["--self-test"]))
"""


def run_self_test(bundled: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOUNDSIFT_BUNDLED_MODELS": str(bundled),
           "SOUNDSIFT_MODELS": str(bundled / "none")}
    return subprocess.run([sys.executable, "-c", SELF_TEST], check=False, capture_output=True, text=True, env=env, timeout=300)


def test_self_test_passes_on_onnx_without_torch_and_fails_clearly(tmp_path):
    bundled = tmp_path / "bundled"
    make_onnx_model(bundled / "default", seed=4)
    result = run_self_test(bundled)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model loaded on OnnxSeparator" in result.stdout and "torch installed: False" in result.stdout
    assert "into a man speaking, a woman speaking, rest" in result.stdout and "torch imported: False" in result.stdout
    assert read_preset("dialogue").query.queries == ["a man speaking", "a woman speaking"]

    shutil.rmtree(bundled / "default" / "onnx")  # without torch, a model needs its ONNX export
    result = run_self_test(bundled)
    assert result.returncode == 1 and "self-test failed: " in result.stdout
    assert "PyTorch is not installed and this model has no ONNX export" in result.stdout
    shutil.rmtree(bundled / "default")
    result = run_self_test(bundled)
    assert result.returncode == 1 and "self-test failed: no default model is installed" in result.stdout.lower()
