"""No silent clipping: outputs over full scale at an integer bit depth are written as float (or scaled alike).

Every entry point that writes files (``separate``, ``process``, the API's ``separate_file``
and the app's export) is tried with a float input peaking at +5 dBFS and with a preset
level of +24 dB, on the all-ones-mask model (its stem is the whole input, at its level).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.gui.export import ExportRequest, export_stems
from soundsift.presets import read_preset
from soundsift.separation import SeparationOptions
from soundsift.separator import Separator
from tests.conftest import test_signal, write_test_file
from tests.test_cli import run_cli

SR = 16_000
CASES = ["hot-input", "plus-24-db"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class Case:
    """An input file, the query preset to run it with, and the violin stem it must give (unclipped)."""

    source: Path
    preset: Path
    violin: np.ndarray

    def options(self) -> SeparationOptions:
        return SeparationOptions(gain_db=read_preset(self.preset).query.gain_db)


def _case(tmp_path: Path, kind: str) -> Case:
    audio = test_signal(SR, 2, 0.6, seed=7)
    preset = tmp_path / "violin.toml"
    if kind == "hot-input":  # a float file peaking at +5 dBFS
        audio *= 10 ** (5 / 20) / np.abs(audio).max()
        preset.write_text('format = 1\nname = "Violin"\nqueries = ["violin"]\n')
        level = 1.0
    else:
        preset.write_text('format = 1\nname = "Loud"\nqueries = [{ query = "violin", gain_db = 24.0 }]\n')
        level = 10 ** (24 / 20)
    source = write_test_file(tmp_path / "take.wav", audio, SR, "FLOAT")
    return Case(source, preset, audio * np.float32(level))


def _read(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="float32", always_2d=True)[0].T


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _subtypes(folder: Path) -> dict[str, str]:
    return {p.name: soundfile.info(str(p)).subtype for p in folder.iterdir() if not p.name.startswith(".")}


@pytest.mark.parametrize("kind", CASES)
def test_separate_writes_what_would_clip_as_float_and_says_so(tmp_path, identity_model, kind):
    case = _case(tmp_path, kind)
    result = run_cli("separate", case.source, "--preset", case.preset, "-o", tmp_path / "out", "--model",
                     identity_model, "--quiet")
    assert result.returncode == 0, result.stderr
    line = _one_line(result.stderr)
    assert "take.wav" in line and "violin.wav would clip at 24-bit" in line and "32-bit float" in line
    folder = tmp_path / "out" / "take"
    assert _subtypes(folder) == {"violin.wav": "FLOAT", "rest.wav": "PCM_24"}
    np.testing.assert_allclose(_read(folder / "violin.wav"), case.violin, rtol=1e-5, atol=1e-5)  # nothing lost
    np.testing.assert_allclose(_read(folder / "rest.wav"), 0.0, atol=1e-5)


def test_flac_scales_every_stem_by_one_factor_and_says_so(tmp_path, tiny_model):
    audio = test_signal(SR, 2, 0.6, seed=7)
    audio *= 2 * 10 ** (5 / 20) / np.abs(audio).max()  # so that a stem of about half the input goes over full scale
    source = write_test_file(tmp_path / "hot.wav", audio, SR, "FLOAT")
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


@pytest.mark.parametrize("kind", CASES)
def test_process_writes_float_rather_than_clip(tmp_path, identity_model, kind):
    case = _case(tmp_path, kind)
    common = ["process", case.source, "--preset", case.preset, "--model", identity_model, "--quiet"]
    result = run_cli(*common, "-o", tmp_path / "out.wav")
    assert result.returncode == 0, result.stderr
    assert "out.wav would clip at 24-bit" in _one_line(result.stderr)
    assert run_cli(*common, "-o", tmp_path / "float.wav", "--bit-depth", "32f").stderr == ""
    assert soundfile.info(str(tmp_path / "out.wav")).subtype == "FLOAT"
    np.testing.assert_array_equal(_read(tmp_path / "out.wav"), _read(tmp_path / "float.wav"))
    np.testing.assert_allclose(_read(tmp_path / "out.wav"), case.violin, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", CASES)
def test_api_separate_file_logs_one_line_and_loses_nothing(tmp_path, identity_model, caplog, kind):
    case = _case(tmp_path, kind)
    outputs = {"violin": tmp_path / "v.wav", "rest": tmp_path / "r.wav"}
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        Separator.load(identity_model, "cpu").separate_file(case.source, outputs, case.options(), bit_depth="16")
    assert len(caplog.records) == 1 and "v.wav would clip at 16-bit" in caplog.records[0].getMessage()
    np.testing.assert_allclose(_read(outputs["violin"]), case.violin, rtol=1e-5, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.wav", "take.wav", "v.wav", "violin.toml"]


def test_in_range_outputs_keep_their_bit_depth_without_a_word(tmp_path, tiny_model, caplog):
    source = write_test_file(tmp_path / "ok.wav", test_signal(SR, 1, 0.4), SR, "FLOAT")
    outputs = {"violin": tmp_path / "v.wav", "rest": tmp_path / "r.wav"}
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        Separator.load(tiny_model, "cpu").separate_file(source, outputs, bit_depth="16")
    assert not caplog.records
    assert {soundfile.info(str(p)).subtype for p in outputs.values()} == {"PCM_16"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.wav", "r.wav", "v.wav"]


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("fmt,depth,expected", [("wav", "16", "FLOAT"), ("flac", "24", "PCM_24")])
def test_app_export_does_not_clip(tmp_path, identity_model, caplog, kind, fmt, depth, expected):
    case = _case(tmp_path, kind)
    outputs = {"violin": tmp_path / "violin.wav", "rest": tmp_path / "rest.wav"}
    separator = Separator.load(identity_model, "cpu")
    stems = list(zip(outputs, separator.separate_file(case.source, outputs, case.options(), bit_depth="32f")))
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        targets = export_stems("Take 1", stems, ExportRequest(tmp_path / "export", fmt, depth))
    assert len(caplog.records) == 1 and "Take 1" in caplog.records[0].getMessage()
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [f"take-1-rest.{fmt}", f"take-1-violin.{fmt}"]
    assert soundfile.info(str(targets[0])).subtype == expected
    violin = _read(targets[0])
    if expected == "FLOAT":
        np.testing.assert_array_equal(violin, _read(outputs["violin"]))
    else:  # every stem scaled by the same factor, the loudest just below full scale
        factor = float(np.sum(violin * case.violin) / np.sum(case.violin**2))
        np.testing.assert_allclose(violin, case.violin * factor, atol=1e-5)
        assert 0.99 < np.abs(violin).max() <= 1.0


@pytest.mark.parametrize("fmt,expected", [("wav", "FLOAT"), ("flac", "PCM_24")])
def test_write_audio_of_a_plugin_host_output_does_not_clip(tmp_path, caplog, fmt, expected):
    from soundsift.audio import write_audio

    loud = test_signal(SR, 2, 0.3, seed=3) * np.float32(4.0)  # a chain's +12 dB Gain, as plugin_host.md writes it
    with caplog.at_level(logging.WARNING, logger="soundsift"):
        path = write_audio(tmp_path / f"loud.{fmt}", loud, SR)
    assert "would clip at 24-bit" in _one_line(caplog.text)
    assert soundfile.info(str(path)).subtype == expected
    written = _read(path)
    factor = float(np.abs(written).max() / np.abs(loud).max())
    np.testing.assert_allclose(written, loud * np.float32(factor), atol=2e-4 * max(factor, 1.0))
    assert factor <= 1.0 and (fmt == "flac" or factor == pytest.approx(1.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"loud.{fmt}"]
    quiet = write_audio(tmp_path / "quiet.wav", loud / 8, SR)
    assert soundfile.info(str(quiet)).subtype == "PCM_24"
