"""Reliability of reading and writing: exact decoding, refused odd inputs, one-line write errors, no lost files."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift import audio, publishing
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
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
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


# --- Writing -----------------------------------------------------------------------------------------------------


def _visible_and_hidden(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _failing_nth(real, n: int, exc: BaseException):
    """A stand-in for ``real`` whose ``n``-th call (1-based) raises ``exc``."""
    calls = {"n": 0}

    def call(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return call


def test_disk_full_while_writing_says_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(soundfile.SoundFile, "write",
                        _failing_nth(soundfile.SoundFile.write, 1, OSError(errno.ENOSPC, "No space left on device")))
    target = tmp_path / "out" / "rest.wav"
    with pytest.raises(AudioError, match=r"rest.wav: disk full$"):
        audio.write_audio(target, test_signal(RATE, 1, 0.1), RATE)
    assert _visible_and_hidden(tmp_path) == []


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Path:
    """A 256 KiB tmpfs (needs the right to mount, e.g. root in a container; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_really_full_disk_says_disk_full_and_leaves_nothing(tiny_disk: Path) -> None:
    with pytest.raises(AudioError, match=r"big.wav: disk full$"):
        audio.write_audio(tiny_disk / "song" / "big.wav", test_signal(RATE, 2, 3.0), RATE, "32f")
    assert _visible_and_hidden(tiny_disk) == []


@pytest.mark.parametrize("code,problem", [(errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")])
def test_unwritable_output_folders_give_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 code: int, problem: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(tmp_path / "out"))

    monkeypatch.setattr(publishing.tempfile, "mkstemp", refuse)
    with pytest.raises(AudioError, match=f"rest.wav: {problem}$"):
        audio.write_audio(tmp_path / "out" / "rest.wav", test_signal(RATE, 1, 0.1), RATE)
    assert _visible_and_hidden(tmp_path) == []


def test_an_output_folder_that_is_a_file_gives_one_line(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(AudioError, match="rest.wav: a folder on the path is a file$"):
        audio.write_audio(tmp_path / "out" / "song" / "rest.wav", test_signal(RATE, 1, 0.1), RATE)
    assert (tmp_path / "out").read_text() == "not a folder"


def test_an_output_folder_in_a_symlink_loop_gives_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "out"
    loop.symlink_to(loop)
    with pytest.raises(AudioError, match="rest.wav: symlink loop$"):
        audio.write_audio(loop / "song" / "rest.wav", test_signal(RATE, 1, 0.1), RATE)


def test_a_file_name_too_long_gives_one_line(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="file name too long$"):
        audio.write_audio(tmp_path / ("x" * 300) / "rest.wav", test_signal(RATE, 1, 0.1), RATE)


def test_flac_with_more_than_8_channels_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="FLAC stores at most 8 channels and this audio has 9"):
        audio.AtomicAudioWriter(tmp_path / "out" / "rest.flac", RATE, 9)
    assert _visible_and_hidden(tmp_path) == []


def test_a_writer_that_fails_to_open_leaves_no_temp_file_or_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio.soundfile, "SoundFile",
                        _failing_nth(soundfile.SoundFile, 1, soundfile.LibsndfileError(2, "Error opening: ")))
    with pytest.raises(AudioError, match="rest.wav"):
        audio.AtomicAudioWriter(tmp_path / "out" / "song" / "rest.wav", RATE, 1)
    assert _visible_and_hidden(tmp_path) == []


def test_publishing_several_files_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "song"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"earlier a")
    writers = [audio.AtomicAudioWriter(folder / f"{name}.wav", RATE, 1) for name in "abc"]
    for writer in writers:
        writer.write(test_signal(RATE, 1, 0.1))
    monkeypatch.setattr(publishing.os, "replace",
                        _failing_nth(os.replace, 3, OSError(errno.EIO, "Input/output error")))
    with pytest.raises(AudioError, match="c.wav: input/output error"):
        audio.publish_all(writers)
    assert _visible_and_hidden(tmp_path) == ["song", "song/a.wav"]
    assert (folder / "a.wav").read_bytes() == b"earlier a"


def test_outputs_are_flushed_to_the_disk_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = audio.fsync_path, os.replace
    monkeypatch.setattr(audio, "fsync_path", lambda path: events.append(f"fsync {Path(path).suffix}") or real_fsync(path))
    monkeypatch.setattr(publishing, "fsync_path", lambda path: events.append("fsync folder") or real_fsync(path))
    monkeypatch.setattr(publishing.os, "replace",
                        lambda src, dst: events.append(f"rename to {Path(dst).name}") or real_replace(src, dst))
    audio.write_audio(tmp_path / "rest.wav", test_signal(RATE, 1, 0.1), RATE)
    assert events == ["fsync .part", "rename to rest.wav", "fsync folder"]


def _dead_pid() -> int:
    """A process id no process has now."""
    pid = 4_000_000
    while publishing._process_alive(pid):
        pid -= 1
    return pid


def test_stale_temp_files_of_a_killed_run_are_removed_by_the_next_run(tmp_path: Path) -> None:
    folder = tmp_path / "song"
    folder.mkdir()
    stale = folder / f".rest.{_dead_pid()}.ab3_x9zq.part"
    live = folder / f".rest.{os.getpid()}.ab3_x9zq.part"
    users = [folder / ".rest.part", folder / "notes.part", folder / f".draft.{_dead_pid()}.part"]
    for path in [stale, live, *users]:
        path.write_bytes(b"x")
    audio.write_audio(folder / "rest.wav", test_signal(RATE, 1, 0.1), RATE)
    assert not stale.exists()
    assert live.exists() and all(p.exists() for p in users)


# --- Runs of the command -----------------------------------------------------------------------------------------


def _separate(*args: object) -> int:
    from soundsift.cli import main

    return main(["separate", *map(str, args), "--quiet"])


def _song(folder: Path, name: str = "song.wav", channels: int = 2, seconds: float = 0.5) -> Path:
    return write_test_file(folder / name, test_signal(RATE, channels, seconds), RATE, "PCM_16")


def _files_under(folder: Path) -> list[str]:
    return _visible_and_hidden(folder) if folder.exists() else []


def test_a_10000_character_query_is_written_under_a_shortened_name(tmp_path: Path, tiny_model: Path) -> None:
    query = "rain " * 2000
    assert _separate(_song(tmp_path), "-q", query, "-o", tmp_path / "out", "--model", tiny_model, "--no-rest") == 0
    stems = [p.name for p in (tmp_path / "out" / "song").glob("*.wav")]
    assert stems == [f"{('rain-' * 20)[:-1]}.wav"]


def test_a_disk_full_in_a_run_is_one_line(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    song = _song(tmp_path)
    monkeypatch.setattr(soundfile.SoundFile, "write",
                        _failing_nth(soundfile.SoundFile.write, 1, OSError(errno.ENOSPC, "No space left on device")))
    out = tmp_path / "out"
    assert _separate(song, "-q", "rain", "-o", out, "--model", tiny_model) == 1
    err = capsys.readouterr().err
    assert err == f"soundsift: error: {out / 'song' / 'rain.wav'}: disk full\n"
    assert _files_under(out) == []


def test_a_batch_goes_on_after_a_failed_output_and_counts_failures(tmp_path: Path, tiny_model: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _song(tmp_path, "a.wav"), _song(tmp_path, "b.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("a file where the track folder goes")
    assert _separate(first, second, "-q", "rain", "-o", out, "--model", tiny_model) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"soundsift: error: {out / 'a' / 'rain.wav'}: a folder on the path is a file",
                   "soundsift: 1 of 2 inputs failed (see above)"]
    assert sorted(p.name for p in (out / "b").glob("*.wav")) == ["rain.wav", "rest.wav"]


def test_flac_over_8_channels_is_refused_before_anything_is_written(tmp_path: Path, tiny_model: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = _song(tmp_path, channels=9)
    out = tmp_path / "out"
    assert _separate(source, "-q", "rain", "-o", out, "--model", tiny_model, "--format", "flac") == 1
    assert "FLAC stores at most 8 channels and this audio has 9" in capsys.readouterr().err
    assert _files_under(out) == []


def test_when_the_nth_writer_fails_to_open_the_earlier_ones_leave_nothing(tmp_path: Path, tiny_model: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = soundfile.SoundFile
    opened = {"w": 0}

    def open_file(file: object, mode: str = "r", *args: object, **kwargs: object) -> soundfile.SoundFile:
        if mode == "w":
            opened["w"] += 1
            if opened["w"] == 3:
                raise soundfile.LibsndfileError(2, "Error opening: ")
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(soundfile, "SoundFile", open_file)
    out = tmp_path / "out"
    assert _separate(_song(tmp_path), "-q", "rain", "-q", "wind", "-o", out / "deeper", "--model", tiny_model) == 1
    assert opened["w"] == 3
    assert _files_under(out) == []


def test_sigterm_stops_a_run_cleanly(tmp_path: Path, tiny_model: Path) -> None:
    source = write_test_file(tmp_path / "long.wav", test_signal(8000, 1, 300.0), 8000)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "soundsift", "separate", str(source), "-q", "rain", "-o", str(out),
                            "--model", str(tiny_model), "--segment", "1", "--quiet"],
                           stderr=subprocess.PIPE, text=True)
    while run.poll() is None and not list(out.glob("*/.*.part")):
        threading.Event().wait(0.01)
    run.terminate()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130
    assert err.strip().endswith("soundsift: interrupted; no partial outputs were kept")
    assert _files_under(out) == []
