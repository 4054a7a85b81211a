"""``soundsift process INPUT --chain PRESET -o OUT``, and the file streaming behind it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from pedalboard import Compressor, Gain, Resample, Reverb

from soundsift.audio import read_audio
from soundsift.cli import main
from soundsift.errors import AudioError
from soundsift.plugin_host import Chain, Mix, TextSeparate, process_file
from soundsift.presets import save_preset
from tests.conftest import test_signal, write_test_file
from tests.test_cli import run_cli

SR = 16_000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def wet_chain(model: Path) -> Chain:
    return Chain([Gain(2), Mix([[], [TextSeparate("violin", model=str(model), segment_seconds=0.25), Reverb()]]),
                  Compressor(-12, 3)])


def test_a_file_streamed_through_a_chain_equals_the_whole_signal_call(tiny_model, tmp_path):
    audio = test_signal(SR, 2, 1.3)
    source = write_test_file(tmp_path / "in.wav", audio, SR, "FLOAT")
    chain = wet_chain(tiny_model)
    done = []
    written = process_file(chain, source, tmp_path / "out.wav", bit_depth="32f", block_size=1000,
                           progress=lambda n, total: done.append((n, total)))
    result, rate = read_audio(written)
    assert rate == SR and result.shape == audio.shape
    np.testing.assert_allclose(result, chain(audio, SR), atol=1e-6)
    assert done[-1][1] == audio.shape[1] and [n for n, _ in done] == sorted(n for n, _ in done)


def test_a_chain_may_change_the_channel_count(tmp_path):
    source = write_test_file(tmp_path / "in.wav", test_signal(SR, 1, 0.5), SR)
    written = process_file(Chain([Resample(8000)]), source, tmp_path / "out.flac")
    info = soundfile.info(written)
    assert (info.channels, info.frames, info.samplerate) == (1, SR // 2, SR)


def test_process_runs_a_preset_on_a_file(tiny_model, tmp_path):
    audio = test_signal(SR, 2, 1.0)
    source = write_test_file(tmp_path / "song.wav", audio, SR, "FLOAT")
    preset = save_preset(wet_chain(tiny_model), tmp_path / "wet.toml")
    out = tmp_path / "out" / "song-wet.wav"
    assert main(["process", str(source), "--chain", str(preset), "-o", str(out), "--bit-depth", "32f", "--quiet"]) == 0
    np.testing.assert_allclose(read_audio(out)[0], wet_chain(tiny_model)(audio, SR), atol=1e-6)


def test_process_runs_a_builtin_preset_with_a_chosen_model(tiny_model, tmp_path):
    source = write_test_file(tmp_path / "song.wav", test_signal(SR, 2, 0.6), SR)
    result = run_cli("process", source, "--chain", "vocal-reverb", "--model", tiny_model, "--device", "cpu",
                     "-o", tmp_path / "wet.flac")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and soundfile.info(tmp_path / "wet.flac").frames == int(0.6 * SR)


def test_process_never_overwrites_its_input(tiny_model, tmp_path):
    source = write_test_file(tmp_path / "song.wav", test_signal(SR, 1, 0.3), SR)
    before = source.read_bytes()
    preset = save_preset([Gain(6)], tmp_path / "loud.toml")
    result = run_cli("process", source, "--chain", preset, "-o", source)
    assert result.returncode == 1 and "refusing to overwrite an input" in result.stderr
    assert "folder" not in result.stderr  # process writes one file: the message must not ask for a folder
    assert source.read_bytes() == before


def test_process_errors_are_one_line_and_leave_no_output(tmp_path):
    source = write_test_file(tmp_path / "song.wav", test_signal(SR, 1, 0.3), SR)
    (tmp_path / "bad.toml").write_text('format = 1\n[[stages]]\ntype = "Gain"\ngain_db = "loud"\n')
    (tmp_path / "nomodel.toml").write_text('format = 1\n[[stages]]\ntype = "TextSeparate"\nquery = "v"\n'
                                           'model = "./no-such-model"\n')
    cases = [("bad.toml", "parameter 'gain_db' must be a number"), ("missing.toml", "no such preset file"),
             ("nomodel.toml", "no-such-model")]
    for preset, message in cases:
        result = run_cli("process", source, "--chain", tmp_path / preset, "-o", tmp_path / "out.wav")
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "nomodel.toml", "song.wav"]


def test_unwritable_formats_fail_before_any_work(tmp_path):
    source = write_test_file(tmp_path / "song.wav", test_signal(SR, 1, 0.3), SR)
    with pytest.raises(AudioError, match=r"cannot write '\.mp3'"):
        process_file(Chain([Gain(1)]), source, tmp_path / "out.mp3")
