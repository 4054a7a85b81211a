"""Output folders and names: remove-mode names, re-runs into a track folder, folder inputs after a run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.batch import plan_jobs
from soundsift.cli import main
from tests.conftest import test_signal, write_test_file

SR = 16_000

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _wavs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.wav"))


def test_remove_mode_files_are_named_after_what_they_lack(tmp_path):
    jobs = plan_jobs([tmp_path / "take.wav"], ["rain", "A dog!"], tmp_path / "out", "wav", mode="remove")
    assert sorted(p.name for p in jobs[0].outputs.values()) == ["rest.wav", "without-a-dog.wav", "without-rain.wav"]
    extract = plan_jobs([tmp_path / "take.wav"], ["rain"], tmp_path / "out", "wav")
    assert sorted(p.name for p in extract[0].outputs.values()) == ["rain.wav", "rest.wav"]


def test_one_query_in_remove_mode_writes_no_duplicate_rest(tmp_path, tiny_model):
    audio = test_signal(SR, 1, 0.5)
    source = write_test_file(tmp_path / "take.wav", audio, SR, "FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(source), "-q", "rain", "--mode", "remove", "-o", str(out), "--model",
                 str(tiny_model), "--bit-depth", "32f", "--quiet"]) == 0
    assert _wavs(out / "take") == ["without-rain.wav"]
    assert main(["separate", str(source), "-q", "rain", "-q", "wind", "--mode", "remove", "-o", str(tmp_path / "two"),
                 "--model", str(tiny_model), "--bit-depth", "32f", "--quiet"]) == 0
    assert _wavs(tmp_path / "two" / "take") == ["rest.wav", "without-rain.wav", "without-wind.wav"]
    removed = soundfile.read(tmp_path / "two" / "take" / "without-rain.wav", dtype="float32")[0]
    assert np.abs(removed - audio).max() > 1e-3  # the file holds the input without the sound, not the sound
