"""Audio I/O: decode any common format, resample, downmix, and write outputs atomically.

Arrays are float32 shaped ``(channels, samples)`` everywhere in soundsift.  Decoding is
streamed in blocks so that long files never have to sit in memory whole; every block is
checked for NaN/Inf, and a file that ends before its header says it should is reported as
truncated instead of being padded with silence.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import soundfile
from pedalboard.io import AudioFile as PedalboardAudioFile
from pedalboard.io import StreamResampler, get_supported_read_formats

from soundsift.durable import fsync_path
from soundsift.errors import AudioError, os_problem
from soundsift.publishing import make_temp_file, publish_files, remove_stale_temps

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self exists from Python 3.11

BIT_DEPTHS: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
WRITE_FORMATS: dict[str, str] = {"wav": "WAV", "flac": "FLAC"}
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
# Containers (as libsndfile names them) whose header states the exact frame count (pedalboard reports it as declared).
_HEADER_COUNTED = {"WAV", "WAVEX", "AIFF"}
# After a seek libsndfile's MP3 decoder returns near-silence for a few frames; seeks start this far earlier.
_MP3_PREROLL = 16384


def audio_extensions() -> frozenset[str]:
    """File extensions (lower case, with dot) that soundsift can decode on this platform."""
    sndfile = {"." + ext.lower() for ext in soundfile.available_formats()}
    sndfile |= {".wave", ".aif", ".oga", ".opus", ".mp3"}
    return frozenset(sndfile | {ext.lower() for ext in get_supported_read_formats()})


@dataclass(frozen=True)
class AudioInfo:
    """What a decodable file holds, read from its header."""

    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


class AudioReader:
    """Streams a file as float32 ``(channels, n)`` blocks, validating as it goes.

    Use as a context manager; iterate with :meth:`blocks`.  Raises :class:`AudioError` for
    unreadable, empty, truncated or non-finite input, always naming the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._check_path()
        self._file = self._open()
        self.sample_rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.frames = self._declared_frames()
        self._check_header()

    def _check_path(self) -> None:
        try:
            mode = self.path.stat().st_mode
        except OSError as exc:
            raise AudioError(self.path, os_problem(exc)) from None
        if stat.S_ISDIR(mode):
            raise AudioError(self.path, "is a directory, not an audio file")
        if not stat.S_ISREG(mode):
            raise AudioError(self.path, "not a regular file (a pipe, socket or device); save the audio to a file first")
        if not os.access(self.path, os.R_OK):
            raise AudioError(self.path, "permission denied")

    def _open(self) -> soundfile.SoundFile:
        try:
            with _native_stderr_silenced():
                return soundfile.SoundFile(str(self.path))
        except (soundfile.LibsndfileError, RuntimeError, TypeError):
            raise AudioError(self.path, "not a readable audio file (unknown format or corrupt header)") from None

    def _declared_frames(self) -> int:
        """Frame count promised by the header; exceeds the real count when truncated."""
        frames = int(self._file.frames)
        if self._file.format in _HEADER_COUNTED:
            try:
                with PedalboardAudioFile(str(self.path)) as header:
                    frames = max(frames, int(header.frames))
            except ValueError:
                pass
        return frames

    def _check_header(self) -> None:
        if self._file.format == "OGG" and not _ogg_stream_ended(self.path):
            raise AudioError(self.path, "truncated: the Ogg stream has no end-of-stream page")
        if self.frames <= 0:
            raise AudioError(self.path, "contains no audio (zero length)")
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise AudioError(
                self.path,
                f"sample rate {self.sample_rate} Hz is outside the supported "
                f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz",
            )

    @property
    def info(self) -> AudioInfo:
        """Header facts of the open file."""
        return AudioInfo(self.path, self.sample_rate, self.channels, self.frames)

    def blocks(self, block_size: int = 65536) -> Iterator[np.ndarray]:
        """Yield consecutive ``(channels, n)`` float32 blocks covering the whole file."""
        read = 0
        while True:
            try:
                with _native_stderr_silenced():
                    block = _read_frames(self._file, block_size)
            except (soundfile.LibsndfileError, RuntimeError) as exc:
                raise AudioError(self.path, f"corrupt or truncated ({_clean(exc)})") from None
            if block.shape[0] == 0:
                break
            if not np.isfinite(block).all():
                raise AudioError(self.path, "contains NaN or infinite samples")
            read += block.shape[0]
            yield np.ascontiguousarray(block.T)
        if read < self.frames:
            raise AudioError(
                self.path,
                f"truncated: header declares {self.frames} frames but only {read} could be read",
            )

    def read_at(self, start: int, frames: int) -> np.ndarray:
        """Up to ``frames`` frames from frame ``start`` as float32 ``(channels, n)`` (fewer at the end)."""
        start = max(0, min(start, self.frames - 1))
        preroll = min(start, _MP3_PREROLL) if self._file.format == "MP3" else 0
        try:
            with _native_stderr_silenced():
                self._file.seek(start - preroll)
                block = _read_frames(self._file, preroll + frames)[preroll:]
        except (soundfile.LibsndfileError, RuntimeError) as exc:
            raise AudioError(self.path, f"cannot read at frame {start} ({_clean(exc)})") from None
        if not np.isfinite(block).all():
            raise AudioError(self.path, "contains NaN or infinite samples")
        return np.ascontiguousarray(block.T)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _ogg_stream_ended(path: Path) -> bool:
    """True when the last Ogg page of the file carries the end-of-stream flag (complete file)."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    page = tail.rfind(b"OggS")
    return page >= 0 and page + 5 < len(tail) and bool(tail[page + 5] & 0x04)


def _read_frames(file: soundfile.SoundFile, frames: int) -> np.ndarray:
    """Decode up to ``frames`` frames from the current position as float32 ``(n, channels)``.

    Calls libsndfile directly because soundfile's ``read`` seeks to where it already is after
    every call, and libsndfile's MP3 decoder restarts on any seek: each block would then begin
    with a few thousand samples of near-silence.
    """
    block = np.empty((frames, file.channels), dtype=np.float32)
    done = soundfile._snd.sf_readf_float(file._file, soundfile._ffi.from_buffer("float[]", block), frames)
    code = soundfile._snd.sf_error(file._file)
    if code:
        raise soundfile.LibsndfileError(code)
    return block[:done]


class _StderrSilencer:
    """Points file descriptor 2 at /dev/null while any thread decodes, to hide what native decoders
    (mpg123) print there; problems reach the user through :class:`AudioError` as one clear line.

    fd 2 belongs to the whole process, so concurrent readers share one redirection: the first
    to enter saves the real stderr and the last to leave puts it back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: int | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = _point_stderr_at_devnull()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._saved is not None:
                    os.dup2(self._saved, 2)
                    os.close(self._saved)
                    self._saved = None


def _point_stderr_at_devnull() -> int | None:
    """Redirect fd 2 to /dev/null; returns a duplicate of the previous fd 2 (None if that fails)."""
    try:
        saved = os.dup(2)
    except OSError:
        return None
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    return saved


_native_stderr_silenced = _StderrSilencer()


def _clean(exc: BaseException) -> str:
    """A one-line reason from a decoder exception, without its repeated file name."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[-1] if text.startswith("Error") else text


def probe(path: str | Path) -> AudioInfo:
    """Validate that ``path`` opens as non-empty audio and return its header facts."""
    with AudioReader(path) as reader:
        return reader.info


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode a whole file to float32 ``(channels, samples)`` and its sample rate."""
    with AudioReader(path) as reader:
        audio = np.concatenate(list(reader.blocks()), axis=1)
        return audio, reader.sample_rate


MAX_ARRAY_CHANNELS = 64
"""The most channels an array may have; more (or more channels than samples) means a (samples, channels) layout."""


def check_audio_array(audio: np.ndarray, source: str = "<array>") -> np.ndarray:
    """Return ``audio`` as float32 ``(channels, samples)``; reject empty or non-finite data.

    Accepts 1-D mono arrays, and 2-D arrays laid out channels-first; an array with more
    channels than samples, or more than :data:`MAX_ARRAY_CHANNELS`, is refused as laid out
    the other way.  Integers are divided by their type's largest value; unsigned ones are
    first centred on zero (for ``uint8`` 128 is silence, as in 8-bit WAV files).
    """
    arr = np.asarray(audio)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise AudioError(source, f"expected a (channels, samples) array, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise AudioError(source, "contains no audio (zero length)")
    channels, samples = arr.shape
    if channels > min(samples, MAX_ARRAY_CHANNELS):
        raise AudioError(source, f"expected a (channels, samples) array, got shape {arr.shape}: {channels} "
                                 f"channels of {samples} samples (at most {MAX_ARRAY_CHANNELS} channels, and no more "
                                 "than samples); transpose a (samples, channels) array with .T")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise AudioError(source, f"unsupported sample type {arr.dtype}")
    if np.issubdtype(arr.dtype, np.unsignedinteger):
        signed = np.iinfo(f"i{arr.dtype.itemsize}")
        arr = (arr.astype(np.float64) + signed.min) / float(signed.max)
    elif np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise AudioError(source, "contains NaN or infinite samples")
    return arr


def downmix(audio: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(channels, samples)`` array into ``(samples,)``."""
    return audio.mean(axis=0, dtype=np.float32)


def resample(audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Resample ``(channels, samples)`` float32 audio with pedalboard's windowed-sinc resampler.

    The result has ``round(samples * target_rate / sample_rate)`` samples and is aligned
    with the input (the resampler's latency is removed).
    """
    if sample_rate == target_rate:
        return audio
    channels, samples = audio.shape
    resampler = StreamResampler(float(sample_rate), float(target_rate), channels)
    out = np.concatenate([resampler.process(audio), resampler.process(None)], axis=1)
    expected = round(samples * target_rate / sample_rate)
    if out.shape[1] < expected:
        out = np.pad(out, ((0, 0), (0, expected - out.shape[1])))
    return np.ascontiguousarray(out[:, :expected], dtype=np.float32)


def output_format(path: Path) -> str:
    """The soundfile format for an output path, from its extension (wav or flac)."""
    fmt = WRITE_FORMATS.get(path.suffix.lower().lstrip("."))
    if fmt is None:
        raise AudioError(path, f"cannot write '{path.suffix}' files; use one of: .wav, .flac")
    return fmt


def check_bit_depth(fmt: str, bit_depth: str, target: str | Path) -> str:
    """Map a bit depth name to a soundfile subtype, rejecting combinations the format lacks."""
    if bit_depth not in BIT_DEPTHS:
        raise AudioError(target, f"unknown bit depth '{bit_depth}'; use one of {sorted(BIT_DEPTHS)}")
    subtype = BIT_DEPTHS[bit_depth]
    if not soundfile.check_format(fmt, subtype):
        raise AudioError(target, f"{fmt} cannot store {bit_depth}-bit samples")
    return subtype


FLAC_MAX_CHANNELS = 8


def check_channels(fmt: str, channels: int, target: str | Path) -> None:
    """Refuse a channel count the output format cannot store (FLAC holds at most 8)."""
    if fmt == "FLAC" and channels > FLAC_MAX_CHANNELS:
        raise AudioError(target, f"FLAC stores at most {FLAC_MAX_CHANNELS} channels and this audio has {channels}; "
                                 "write WAV instead (--format wav)")


class AtomicAudioWriter:
    """Writes an audio file block by block to a temporary file, renamed into place on success.

    On any exception inside the ``with`` block, or when opening fails, the temporary file (and
    any folder the writer had to create) is removed and the destination is left untouched;
    when several writers share new folders, abort them in reverse order of creation.  Call
    :meth:`commit` (or leave the block normally) to publish the file, or :func:`publish_all`
    for several.  Every OS or encoder failure is an :class:`AudioError` naming the output.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int, bit_depth: str = "24") -> None:
        self.path = Path(path)
        fmt = output_format(self.path)
        subtype = check_bit_depth(fmt, bit_depth, self.path)
        check_channels(fmt, channels, self.path)
        self._made_dirs: list[Path] = []
        self._tmp: Path | None = None
        self._file: soundfile.SoundFile | None = None
        self._done = False
        try:
            with write_errors(self.path):
                self._made_dirs = _make_folders(self.path.parent)
                remove_stale_temps(self.path.parent)
                self._tmp = make_temp_file(self.path)
                self._file = soundfile.SoundFile(
                    self._tmp, "w", samplerate=sample_rate, channels=channels, format=fmt, subtype=subtype
                )
        except BaseException:
            self.abort()
            raise

    def write(self, block: np.ndarray) -> None:
        """Append a ``(channels, n)`` block."""
        with write_errors(self.path, self._file):
            self._file.write(np.ascontiguousarray(block.T))

    def commit(self) -> Path:
        """Close, flush to the disk and atomically move the file to its destination."""
        if not self._done:
            publish_all([self])
        return self.path

    def _finish(self) -> tuple[Path, Path]:
        """Close the temporary file and flush it to the disk; returns the ``(temporary, destination)`` move."""
        with write_errors(self.path, self._file):
            self._file.close()
            fsync_path(self._tmp)
        return self._tmp, self.path

    def abort(self) -> None:
        """Discard everything written, and the folders this writer created if they are empty."""
        if self._done:
            return
        self._done = True
        if self._file is not None:
            with contextlib.suppress(RuntimeError, OSError):  # a file being discarded need not close cleanly
                self._file.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        for folder in self._made_dirs:
            try:
                folder.rmdir()
            except OSError:
                break

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def publish_all(writers: Sequence[AtomicAudioWriter]) -> list[Path]:
    """Publish several writers' files all or nothing; on failure every destination is as it was and all are aborted."""
    try:
        publish_files([writer._finish() for writer in writers])
    except BaseException:
        for writer in reversed(writers):
            writer.abort()
        raise
    for writer in writers:
        writer._done = True
    return [writer.path for writer in writers]


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns the ones created, deepest first."""
    missing = [d for d in (folder, *folder.parents) if not os.path.lexists(d)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        folder.stat()  # a symlink loop or a dangling link raises its own, clearer error here
        raise
    return missing


@contextlib.contextmanager
def write_errors(path: Path, file: soundfile.SoundFile | None = None) -> Iterator[None]:
    """Turn OS and encoder failures while writing ``path`` into one-line :class:`AudioError` s."""
    try:
        yield
    except OSError as exc:
        raise AudioError(path, os_problem(exc)) from None
    except soundfile.LibsndfileError as exc:
        raise AudioError(path, _encoder_problem(file, exc)) from None


def _encoder_problem(file: soundfile.SoundFile | None, exc: soundfile.LibsndfileError) -> str:
    """libsndfile's reason for a failed write; for a system error, the OS error behind it (e.g. disk full)."""
    if file is None or file.closed:
        return _clean(exc).lower()
    text = soundfile._ffi.string(soundfile._snd.sf_strerror(file._file)).decode(errors="replace")
    reason = text.rpartition(" : ")[2].strip().rstrip(".")
    code = _ERRNO_BY_TEXT.get(reason)
    return os_problem(OSError(code, reason)) if code else reason.lower()


_ERRNO_BY_TEXT = {os.strerror(code): code for code in errno.errorcode}


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int, bit_depth: str = "24") -> Path:
    """Write a whole ``(channels, samples)`` array atomically; returns the written path.

    Audio over full scale is not clipped at an integer bit depth: it is written as float
    (or scaled, in FLAC) with one line saying so, as every soundsift output is (:mod:`soundsift.headroom`).
    """
    from soundsift.headroom import HeadroomWriters  # headroom builds on this module's writers

    audio = check_audio_array(audio, str(path))
    files = HeadroomWriters(bit_depth, str(path))
    try:
        files.open(path, sample_rate, audio.shape[0]).write(audio)
    except BaseException:
        files.abort()
        raise
    files.commit()
    return Path(path)


def refuse_overwriting_inputs(outputs: Sequence[Path], inputs: Sequence[Path]) -> None:
    """Raise if any output path is the same file as an input (inputs are never overwritten)."""
    resolved = {Path(p).resolve() for p in inputs}
    for out in outputs:
        if Path(out).resolve() in resolved:
            raise AudioError(out, "refusing to overwrite an input file; write the output somewhere else")
