"""No silent clipping: outputs over full scale at an integer bit depth are written as float (or scaled alike)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.gui.export import ExportRequest, export_stems
from soundsift.separator import Separator
from tests.conftest import test_signal, write_test_file
from tests.test_cli import run_cli

SR = 16_000
HOT = 10 ** (5 / 20)  # +5 dBFS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _hot_input(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A float file peaking at +5 dBFS."""
    audio = test_signal(SR, 2, 0.6, seed=7)
    audio *= HOT / np.abs(audio).max()
    return write_test_file(tmp_path / "hot.wav", audio, SR, "FLOAT"), audio


def _read(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="float32", always_2d=True)[0].T


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_separate_writes_what_would_clip_as_float_and_says_so(tmp_path, identity_model):
    source, audio = _hot_input(tmp_path)
    result = run_cli("separate", source, "-q", "violin", "-o", tmp_path / "out", "--model", identity_model, "--quiet")
    assert result.returncode == 0, result.stderr
    line = _one_line(result.stderr)
    assert "hot.wav" in line and "violin.wav would clip at 24-bit" in line and "32-bit float" in line
    folder = tmp_path / "out" / "hot"
    subtypes = {p.name: soundfile.info(str(p)).subtype for p in folder.glob("*.wav")}
    assert subtypes == {"violin.wav": "FLOAT", "rest.wav": "PCM_24"}  # the all-ones mask gives violin everything
    total = sum(_read(folder / name) for name in subtypes)
    np.testing.assert_allclose(total, audio, atol=1e-5)  # nothing lost
    assert not list(folder.glob(".*.part"))


def test_flac_scales_every_stem_by_one_factor_and_says_so(tmp_path, tiny_model):
    source, audio = _hot_input(tmp_path)
    audio *= 2  # so that a stem of the tiny model, about half of the input, goes over full scale
    write_test_file(source, audio, SR, "FLOAT")
    result = run_cli("separate", source, "-q", "violin", "-o", tmp_path / "out", "--model", tiny_model,
                     "--format", "flac", "--bit-depth", "16", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "scaled by the same" in _one_line(result.stderr)
    stems = [_read(p) for p in sorted((tmp_path / "out" / "hot").glob("*.flac"))]
    assert len(stems) == 2 and all(np.abs(s).max() <= 1.0 for s in stems)
    total = stems[0] + stems[1]
    factor = float(np.sum(total * audio) / np.sum(audio * audio))
    assert factor < 0.9 and max(np.abs(s).max() for s in stems) > 0.99  # the loudest stem just below full scale
    np.testing.assert_allclose(total, audio * factor, atol=1e-4)  # stems + rest = input x factor, at 16-bit


def test_a_preset_level_of_plus_24_db_is_not_clipped(tmp_path, tiny_model):
    audio = test_signal(SR, 1, 0.6, seed=8)
    source = write_test_file(tmp_path / "quiet.wav", audio, SR, "FLOAT")
    preset = tmp_path / "loud.toml"
    preset.write_text('format = 1\nname = "Loud"\nqueries = [{ query = "violin", gain_db = 24.0 }]\n')
    result = run_cli("separate", source, "--preset", preset, "-o", tmp_path / "out", "--model", tiny_model,
                     "--bit-depth", "16", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "violin.wav would clip at 16-bit" in _one_line(result.stderr)
    folder = tmp_path / "out" / "quiet"
    assert soundfile.info(str(folder / "violin.wav")).subtype == "FLOAT"
    assert soundfile.info(str(folder / "rest.wav")).subtype == "PCM_16"
    reference = Separator.load(tiny_model, "cpu").separate(source, ["violin"])
    np.testing.assert_allclose(_read(folder / "violin.wav"), reference["violin"] * 10 ** (24 / 20), atol=1e-4)


def test_process_writes_float_rather_than_clip(tmp_path, identity_model):
    source, _ = _hot_input(tmp_path)
    common = ["process", source, "--preset", "dialogue", "--model", identity_model, "--quiet"]
    result = run_cli(*common, "-o", tmp_path / "out.wav")
    assert result.returncode == 0, result.stderr
    assert "out.wav would clip at 24-bit" in _one_line(result.stderr)
    assert run_cli(*common, "-o", tmp_path / "float.wav", "--bit-depth", "32f").stderr == ""
    assert soundfile.info(str(tmp_path / "out.wav")).subtype == "FLOAT"
    np.testing.assert_array_equal(_read(tmp_path / "out.wav"), _read(tmp_path / "float.wav"))
    assert np.abs(_read(tmp_path / "out.wav")).max() > 1.0


def test_api_separate_file_logs_one_line_and_loses_nothing(tmp_path, identity_model, caplog):
    source, audio = _hot_input(tmp_path)
    outputs = {"violin": tmp_path / "v.wav", "rest": tmp_path / "r.wav"}
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        written = Separator.load(identity_model, "cpu").separate_file(source, outputs, bit_depth="16")
    assert len(caplog.records) == 1 and "v.wav would clip at 16-bit" in caplog.records[0].getMessage()
    np.testing.assert_allclose(sum(_read(p) for p in written), audio, atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hot.wav", "r.wav", "v.wav"]


def test_in_range_outputs_keep_their_bit_depth_without_a_word(tmp_path, tiny_model, caplog):
    source = write_test_file(tmp_path / "ok.wav", test_signal(SR, 1, 0.4), SR, "FLOAT")
    outputs = {"violin": tmp_path / "v.wav", "rest": tmp_path / "r.wav"}
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        Separator.load(tiny_model, "cpu").separate_file(source, outputs, bit_depth="16")
    assert not caplog.records
    assert {soundfile.info(str(p)).subtype for p in outputs.values()} == {"PCM_16"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.wav", "r.wav", "v.wav"]


@pytest.mark.parametrize("fmt,depth,expected", [("wav", "16", "FLOAT"), ("flac", "24", "PCM_24")])
def test_app_export_does_not_clip(tmp_path, caplog, fmt, depth, expected):
    loud = test_signal(SR, 2, 0.5, seed=9) * 6.0
    quiet = test_signal(SR, 2, 0.5, seed=10) * 0.5
    stems = [("violin", write_test_file(tmp_path / "violin.wav", loud, SR, "FLOAT")),
             ("rest", write_test_file(tmp_path / "rest.wav", quiet, SR, "FLOAT"))]
    request = ExportRequest(tmp_path / "export", fmt, depth)
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        targets = export_stems("Take 1", stems, request)
    assert len(caplog.records) == 1 and "Take 1" in caplog.records[0].getMessage()
    assert soundfile.info(str(targets[0])).subtype == expected
    exported = [_read(p) for p in targets]
    if expected == "FLOAT":
        np.testing.assert_array_equal(exported[0], loud)
        np.testing.assert_allclose(exported[1], quiet, atol=1e-4)
    else:
        factor = float(np.sum(exported[0] * loud) / np.sum(loud * loud))
        np.testing.assert_allclose(exported[0], loud * factor, atol=1e-5)
        np.testing.assert_allclose(exported[1], quiet * factor, atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [f"take-1-rest.{fmt}", f"take-1-violin.{fmt}"]
