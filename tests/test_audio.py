"""Decoding, resampling and atomic writing in soundsift.audio."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from soundsift import audio
from soundsift.errors import AudioError
from tests.conftest import test_signal, write_test_file

RATES = [8000, 22050, 44100, 48000, 96000, 192000]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_wav_round_trip_any_rate_and_layout(tmp_path, rate, channels):
    x = test_signal(rate, channels, 0.25)
    path = write_test_file(tmp_path / "x.wav", x, rate, "FLOAT")
    y, sr = audio.read_audio(path)
    assert sr == rate and y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(
    "name,subtype,tol",
    [("a.wav", "PCM_U8", 1e-2), ("a.wav", "PCM_16", 1e-4), ("a.wav", "PCM_24", 1e-6),
     ("a.wav", "PCM_32", 1e-8), ("a.wav", "DOUBLE", 0), ("a.flac", "PCM_16", 1e-4),
     ("a.flac", "PCM_24", 1e-6), ("a.aiff", "PCM_16", 1e-4)],
)
def test_bit_depths_decode_to_float32(tmp_path, name, subtype, tol):
    x = test_signal(44100, 2, 0.2)
    y, _ = audio.read_audio(write_test_file(tmp_path / name, x, 44100, subtype))
    assert y.dtype == np.float32
    assert np.abs(y - x).max() <= tol + 1e-7


@pytest.mark.parametrize("ext", [".ogg", ".mp3"])
@pytest.mark.parametrize("rate,channels", [(44100, 2), (22050, 1), (48000, 2)])
def test_lossy_formats_decode(tmp_path, ext, rate, channels):
    x = test_signal(rate, channels, 0.5)
    y, sr = audio.read_audio(write_test_file(tmp_path / f"x{ext}", x, rate))
    assert sr == rate and y.shape[0] == channels
    assert abs(y.shape[1] - x.shape[1]) <= 0.05 * x.shape[1]
    assert np.isfinite(y).all() and np.abs(y).max() > 0.1


def test_supported_extensions_cover_the_issue_formats():
    assert {".wav", ".flac", ".ogg", ".mp3"} <= audio.audio_extensions()


@pytest.mark.parametrize("src,dst", [(44100, 16000), (48000, 16000), (8000, 16000), (16000, 192000), (96000, 44100)])
def test_resample_length_and_pitch(src, dst):
    t = np.arange(src) / src
    x = np.sin(2 * np.pi * 500 * t).astype(np.float32)[None]
    y = audio.resample(x, src, dst)
    assert y.shape == (1, round(src * dst / src))
    spectrum = np.abs(np.fft.rfft(y[0] * np.hanning(y.shape[1])))
    peak_hz = np.argmax(spectrum) * dst / y.shape[1]
    assert abs(peak_hz - 500) < 3


def test_resample_keeps_time_alignment():
    x = np.zeros((1, 48000), np.float32)
    x[0, 24000] = 1.0
    y = audio.resample(x, 48000, 16000)
    assert np.argmax(np.abs(y[0])) == 8000


def _truncated(tmp_path, ext):
    x = test_signal(44100, 1, 1.0)
    good = write_test_file(tmp_path / f"good{ext}", x, 44100)
    data = good.read_bytes()
    bad = tmp_path / f"truncated{ext}"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def _bad_inputs(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(os.urandom(4000))
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all")
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros((0, 1)), 44100)
    nan = tmp_path / "nan.wav"
    soundfile.write(nan, np.full((1000, 2), np.nan, np.float32), 44100, subtype="FLOAT")
    inf = tmp_path / "inf.flac"
    sig = test_signal(44100, 1, 0.1)
    soundfile.write(inf, sig.T, 44100, subtype="PCM_16")
    inf_wav = tmp_path / "inf.wav"
    sig[0, 100] = np.inf
    soundfile.write(inf_wav, sig.T, 44100, subtype="FLOAT")
    return {
        "missing": (tmp_path / "nope.wav", "no such file"),
        "directory": (tmp_path, "is a directory"),
        "non-audio": (text, "not a readable audio file"),
        "corrupt": (junk, "not a readable audio file"),
        "zero-length": (empty, "zero length"),
        "nan": (nan, "NaN or infinite"),
        "inf": (inf_wav, "NaN or infinite"),
        "truncated-wav": (_truncated(tmp_path, ".wav"), "truncated"),
        "truncated-flac": (_truncated(tmp_path, ".flac"), "truncated"),
        "truncated-mp3": (_truncated(tmp_path, ".mp3"), "truncated"),
        "truncated-ogg": (_truncated(tmp_path, ".ogg"), "truncated"),
    }


BAD_KINDS = ["missing", "directory", "non-audio", "corrupt", "zero-length", "nan", "inf",
             "truncated-wav", "truncated-flac", "truncated-mp3", "truncated-ogg"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_inputs_raise_audio_error_naming_the_file(tmp_path, kind):
    path, problem = _bad_inputs(tmp_path)[kind]
    with pytest.raises(AudioError) as info:
        audio.read_audio(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_atomic_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "stem.wav"
    with pytest.raises(RuntimeError), audio.AtomicAudioWriter(target, 44100, 2) as writer:
        writer.write(test_signal(44100, 2, 0.1))
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_writer_replaces_existing_file_only_on_success(tmp_path):
    target = tmp_path / "stem.wav"
    audio.write_audio(target, np.zeros((1, 100), np.float32), 8000)
    with pytest.raises(RuntimeError), audio.AtomicAudioWriter(target, 8000, 1) as writer:
        writer.write(np.ones((1, 50), np.float32) * 0.5)
        raise RuntimeError("boom")
    assert soundfile.info(target).frames == 100


@pytest.mark.parametrize("ext,depth,subtype", [("wav", "16", "PCM_16"), ("wav", "24", "PCM_24"),
                                               ("wav", "32f", "FLOAT"), ("flac", "16", "PCM_16"),
                                               ("flac", "24", "PCM_24")])
def test_write_formats_and_bit_depths(tmp_path, ext, depth, subtype):
    x = test_signal(48000, 2, 0.1)
    path = audio.write_audio(tmp_path / f"o.{ext}", x, 48000, depth)
    info = soundfile.info(path)
    assert info.subtype == subtype and info.samplerate == 48000 and info.channels == 2


def test_flac_cannot_hold_float(tmp_path):
    with pytest.raises(AudioError, match="cannot store 32f"):
        audio.write_audio(tmp_path / "o.flac", np.zeros((1, 10), np.float32), 8000, "32f")


def test_refuse_overwriting_inputs(tmp_path):
    src = tmp_path / "a.wav"
    with pytest.raises(AudioError, match="refusing to overwrite"):
        audio.refuse_overwriting_inputs([tmp_path / "." / "a.wav"], [src])


def test_check_audio_array_accepts_mono_and_ints():
    assert audio.check_audio_array(np.zeros(10)).shape == (1, 10)
    ints = audio.check_audio_array(np.full((2, 4), 16384, np.int16))
    assert ints.dtype == np.float32 and abs(ints[0, 0] - 0.5) < 1e-3
    with pytest.raises(AudioError, match="NaN"):
        audio.check_audio_array(np.array([0.0, np.nan]))


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    path = audio.write_audio(tmp_path / "out.wav", np.zeros((1, 100), np.float32), 8000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
