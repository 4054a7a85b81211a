"""The ``soundsift`` command run as a user runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.cli import main
from tests.conftest import test_signal, write_test_file
from tests.test_audio import BAD_KINDS, _bad_inputs


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m soundsift`` in a fresh interpreter, as a user's shell would."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "soundsift", *map(str, args)], capture_output=True, text=True, check=False,
                          cwd=cwd, env=env, timeout=300)


FORMATS = [("x.wav", "PCM_16"), ("x.wav", "PCM_24"), ("x.wav", "FLOAT"), ("x.flac", "PCM_24"), ("x.ogg", None),
           ("x.mp3", None)]


@pytest.mark.parametrize("name,subtype", FORMATS)
@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 2), (96000, 6)])
def test_separate_every_format_rate_and_layout(tmp_path, identity_model, name, subtype, rate, channels):
    if name.endswith(".mp3") and rate == 96000:
        rate = 48000  # MP3 tops out at 48 kHz
    if name.endswith((".mp3", ".ogg")) and channels == 6:
        channels = 2
    src = write_test_file(tmp_path / name, test_signal(rate, channels, 0.6), rate, subtype)
    out = tmp_path / "out"
    code = main(["separate", str(src), "-q", "violin", "-q", "A dog barking!", "-o", str(out),
                 "--model", str(identity_model), "--quiet"])
    assert code == 0
    written = sorted(p.name for p in (out / "x").glob("*.wav"))
    assert written == ["a-dog-barking.wav", "rest.wav", "violin.wav"]
    decoded, _ = soundfile.read(src, dtype="float32", always_2d=True)
    stem, sr = soundfile.read(out / "x" / "violin.wav", dtype="float32", always_2d=True)
    assert sr == rate and stem.shape == decoded.shape
    # both queries' all-ones masks claim every bin, so each stem is half the input
    np.testing.assert_allclose(stem, decoded / 2, atol=2e-4 if subtype != "FLOAT" else 1e-5)


@pytest.mark.parametrize("fmt,depth,subtype", [("wav", "16", "PCM_16"), ("wav", "32f", "FLOAT"), ("flac", "24", "PCM_24")])
def test_output_format_and_bit_depth(tmp_path, tiny_model, fmt, depth, subtype):
    src = write_test_file(tmp_path / "song.wav", test_signal(44100, 2, 0.5), 44100, "PCM_16")
    out = tmp_path / "out"
    assert main(["separate", str(src), "-q", "violin", "-o", str(out), "--model", str(tiny_model),
                 "--format", fmt, "--bit-depth", depth, "--no-rest", "--quiet"]) == 0
    files = [p for p in (out / "song").iterdir() if not p.name.startswith(".")]
    assert [p.name for p in files] == [f"violin.{fmt}"]
    assert soundfile.info(files[0]).subtype == subtype


def test_stems_and_rest_null_against_the_input_on_disk(tmp_path, tiny_model):
    x = test_signal(48000, 2, 2.5, seed=5)
    src = write_test_file(tmp_path / "mix.wav", x, 48000, "FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(src), "-q", "violin", "-q", "speech", "-o", str(out), "--model", str(tiny_model),
                 "--bit-depth", "32f", "--segment", "1", "--overlap", "0.3", "--quiet"]) == 0
    total = sum(soundfile.read(out / "mix" / f"{n}.wav", dtype="float32")[0] for n in ("violin", "speech", "rest"))
    np.testing.assert_allclose(total.T, x, atol=1e-5)


def test_remove_mode_writes_input_minus_each_sound(tmp_path, identity_model):
    x = test_signal(16000, 1, 0.5)
    src = write_test_file(tmp_path / "take.wav", x, 16000, "FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(src), "-q", "noise", "--mode", "remove", "-o", str(out), "--model",
                 str(identity_model), "--bit-depth", "32f", "--quiet"]) == 0
    assert sorted(p.name for p in (out / "take").glob("*.wav")) == ["without-noise.wav"]
    removed, _ = soundfile.read(out / "take" / "without-noise.wav", dtype="float32")
    np.testing.assert_allclose(removed, 0, atol=1e-5)


def test_folder_input_processes_every_audio_file(tmp_path, tiny_model):
    folder = tmp_path / "session"
    (folder / "sub").mkdir(parents=True)
    write_test_file(folder / "a.wav", test_signal(16000, 1, 0.3), 16000, "PCM_16")
    write_test_file(folder / "sub" / "b.flac", test_signal(22050, 2, 0.3), 22050, "PCM_16")
    (folder / "notes.txt").write_text("not audio")
    out = tmp_path / "out"
    assert main(["separate", str(folder), "-q", "violin", "-o", str(out), "--model", str(tiny_model), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]


def test_output_folder_inside_the_input_folder_never_touches_inputs(tmp_path, identity_model):
    folder = tmp_path / "violin"
    folder.mkdir()
    src = write_test_file(folder / "violin.wav", test_signal(16000, 1, 0.3), 16000, "PCM_16")
    before = src.read_bytes()
    result = run_cli("separate", src, "-q", "violin", "-o", tmp_path, "--model", identity_model, "--quiet")
    assert result.returncode == 1 and "refusing to overwrite an input" in result.stderr
    assert src.read_bytes() == before and sorted(folder.iterdir()) == [src]
    result = run_cli("separate", "violin.wav", "-q", "violin", "-o", ".", "--model", identity_model, "--quiet",
                     cwd=folder)
    assert result.returncode == 0, result.stderr
    assert src.read_bytes() == before and (folder / "violin" / "violin.wav").is_file()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_gives_one_error_line_and_writes_nothing(tmp_path, tiny_model, kind):
    path, problem = _bad_inputs(tmp_path)[kind]
    if kind == "directory":  # folders are valid inputs on the command line; an empty one is not
        path, problem = tmp_path / "empty-folder", "folder contains no audio files"
        path.mkdir()
    out = tmp_path / "out"
    result = run_cli("separate", path, "-q", "violin", "-o", out, "--model", tiny_model)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("soundsift: error:") and str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.rglob("*"))


def test_a_bad_file_midway_keeps_the_good_ones_and_fails(tmp_path, tiny_model):
    good = write_test_file(tmp_path / "good.wav", test_signal(16000, 1, 0.5), 16000, "PCM_16")
    sig = test_signal(16000, 1, 30.0)
    sig[0, -5] = np.nan
    late_nan = write_test_file(tmp_path / "late.wav", sig, 16000, "FLOAT")
    out = tmp_path / "out"
    code = main(["separate", str(late_nan), str(good), "-q", "violin", "-o", str(out), "--model", str(tiny_model),
                 "--quiet"])
    assert code == 1
    assert sorted(p.name for p in (out / "good").glob("*.wav")) == ["rest.wav", "violin.wav"]
    assert not (out / "late").exists() or not any((out / "late").iterdir())


def test_no_default_model_message(tmp_path):
    src = write_test_file(tmp_path / "x.wav", test_signal(16000, 1, 0.2), 16000, "PCM_16")
    result = run_cli("separate", src, "-q", "violin", "-o", tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "soundsift: error: no default model is installed; pass --model with a model directory or a name from "
        "'soundsift models list'")
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(tmp_path, tiny_model):
    src = write_test_file(tmp_path / "x.wav", test_signal(16000, 1, 0.2), 16000, "PCM_16")
    assert run_cli("separate", src).returncode == 2
    assert run_cli("separate", src, "-q", "a", "--overlap", "0.9").returncode == 2
    result = run_cli("separate", src, "-q", "a", "--format", "flac", "--bit-depth", "32f", "--model", tiny_model)
    assert result.returncode == 1 and "cannot store 32f" in result.stderr
    result = run_cli("separate", src, "-q", "Violin!", "-q", "violin", "--model", tiny_model, "-o", tmp_path / "o")
    assert result.returncode == 1 and "would both be written as 'violin'" in result.stderr


def test_models_list_and_info(isolated_model_store, tiny_model):
    import shutil

    shutil.copytree(tiny_model, isolated_model_store / "mine")
    env_run = run_cli("models", "list")
    assert env_run.returncode == 0 and "mine" in env_run.stdout and "encoder=ngram" in env_run.stdout
    info = run_cli("models", "info", "mine")
    assert info.returncode == 0 and '"architecture": "film_unet"' in info.stdout
    missing = run_cli("models", "info", "nope")
    assert missing.returncode == 1 and "unknown model 'nope'" in missing.stderr


def test_cuda_without_a_gpu_is_one_clear_line(tmp_path, tiny_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the message is for machines without one")
    src = write_test_file(tmp_path / "x.wav", test_signal(16000, 1, 0.2), 16000, "PCM_16")
    result = run_cli("separate", src, "-q", "a", "--device", "cuda", "--model", tiny_model, "-o", tmp_path / "o")
    assert result.returncode == 1 and result.stderr.strip() == (
        "soundsift: error: device 'cuda' was asked for, but PyTorch sees no CUDA GPU here")


def test_encoder_option_flag_reaches_the_encoder(tmp_path, tiny_model):
    src = write_test_file(tmp_path / "x.wav", test_signal(16000, 1, 0.2), 16000, "PCM_16")
    ok = main(["separate", str(src), "-q", "a", "-o", str(tmp_path / "o"), "--model", str(tiny_model),
               "--encoder-option", "dim=128", "--quiet"])
    assert ok == 0
    result = run_cli("separate", src, "-q", "a", "-o", tmp_path / "o2", "--model", tiny_model, "--encoder-option",
                     "dim=64")
    assert result.returncode == 1 and "fingerprint" in result.stderr and not (tmp_path / "o2").exists()
