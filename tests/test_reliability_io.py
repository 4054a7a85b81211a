"""Reliability of reading and writing: exact decoding, refused odd inputs, one-line write errors, no lost files."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift import audio
from soundsift.errors import AudioError

from .conftest import test_signal, write_test_file

RATE = 44_100


def _chirp(seconds: float, channels: int = 2) -> np.ndarray:
    """A rising sine sweep at half scale, (channels, samples): any dropout in it is obvious."""
    t = np.arange(int(seconds * RATE)) / RATE
    sweep = 0.5 * np.sin(2 * np.pi * (100 + 200 * t) * t)
    return np.repeat(sweep[None, :], channels, axis=0).astype(np.float32)


def _write_mp3(path: Path, audio_: np.ndarray) -> Path:
    soundfile.write(path, audio_.T, RATE, format="MP3", subtype="MPEG_LAYER_III")
    return path


def _whole_decode(path: Path) -> np.ndarray:
    """The file decoded in one libsndfile call, (channels, samples)."""
    data, _ = soundfile.read(path, dtype="float32", always_2d=True)
    return data.T


@pytest.fixture(scope="module")
def chirp_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_mp3(tmp_path_factory.mktemp("mp3") / "chirp.mp3", _chirp(4.0))


# --- Reading -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".mp3", ".ogg", ".flac", ".wav"])
def test_block_streamed_decoding_equals_whole_file_decoding(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"chirp{ext}"
    if ext == ".mp3":
        _write_mp3(path, _chirp(4.0))
    else:
        write_test_file(path, _chirp(4.0), RATE)
    whole = _whole_decode(path)
    with audio.AudioReader(path) as reader:
        streamed = np.concatenate(list(reader.blocks(block_size=10_000)), axis=1)
    np.testing.assert_array_equal(streamed, whole)


def test_mp3_read_at_matches_whole_file_decoding(chirp_mp3: Path) -> None:
    whole = _whole_decode(chirp_mp3)
    with audio.AudioReader(chirp_mp3) as reader:
        for start in (0, 1_000, 65_536, 100_001):
            np.testing.assert_allclose(reader.read_at(start, 20_000), whole[:, start : start + 20_000], atol=1e-6)


def test_stems_and_rest_of_an_mp3_have_no_gaps(chirp_mp3: Path, tmp_path: Path, tiny_model: Path) -> None:
    from soundsift.separator import Separator

    outputs = {"tone": tmp_path / "tone.wav", "rest": tmp_path / "rest.wav"}
    Separator.load(tiny_model, "cpu").separate_file(chirp_mp3, outputs, bit_depth="32f")
    total = sum(soundfile.read(p, dtype="float32", always_2d=True)[0].T for p in outputs.values())
    np.testing.assert_allclose(total, _whole_decode(chirp_mp3), atol=1e-4)


def test_mp3_bytes_under_a_wav_name_are_decoded(chirp_mp3: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "song.wav"
    disguised.write_bytes(chirp_mp3.read_bytes())
    decoded, rate = audio.read_audio(disguised)
    assert rate == RATE
    np.testing.assert_array_equal(decoded, _whole_decode(chirp_mp3))


def test_a_symlink_loop_input_is_reported_as_such(tmp_path: Path) -> None:
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    with pytest.raises(AudioError, match="loop.wav: symlink loop"):
        audio.probe(loop)


def test_a_fifo_input_is_refused(tmp_path: Path) -> None:
    """Refused before it is opened: opening a pipe nobody writes to would wait for ever (so a subprocess)."""
    pipe = tmp_path / "pipe.wav"
    os.mkfifo(pipe)
    probe = f"from soundsift.audio import probe; probe({str(pipe)!r})"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "pipe.wav: not a regular file" in done.stderr


def test_concurrent_reads_leave_stderr_intact() -> None:
    """Two threads silencing stderr in overlapping spans (A in, B in, A out, B out) restore the real fd 2."""
    before = os.fstat(2)
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()

    def reader_a() -> None:
        with audio._native_stderr_silenced():
            a_inside.set()
            b_inside.wait()
        a_left.set()

    def reader_b() -> None:
        a_inside.wait()
        with audio._native_stderr_silenced():
            b_inside.set()
            a_left.wait()

    threads = [threading.Thread(target=reader_a), threading.Thread(target=reader_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_many_threads_reading_leave_stderr_intact(chirp_mp3: Path) -> None:
    before = os.fstat(2)

    def read_often() -> None:
        for _ in range(5):
            audio.read_audio(chirp_mp3)

    threads = [threading.Thread(target=read_often) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
