"""Stem playback through QtMultimedia: a live mix of the audible stems, with per-stem level.

Without an audio output device (a server, CI, a muted session) ``Player.available`` is False
and every call is a no-op, so the app works the same minus sound.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QIODevice, QObject, QTimer, pyqtSignal
from PyQt6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices

from soundsift.audio import read_audio, resample

POSITION_INTERVAL_MS = 30
BYTES_PER_SAMPLE = 2
SINK_ERRORS = {
    QAudio.Error.OpenError: "the device refused to open",
    QAudio.Error.IOError: "reading or writing the device failed",
    QAudio.Error.UnderrunError: "the device ran out of audio",
    QAudio.Error.FatalError: "the device stopped working",
}


def audio_output_available() -> bool:
    """True when the system reports a default audio output device."""
    return not QMediaDevices.defaultAudioOutput().isNull()


def device_format(sample_rate: int, channels: int) -> tuple[int, int]:
    """The (sample rate, channels) to play at: the stems' own when the device takes 16-bit PCM at it."""
    device = QMediaDevices.defaultAudioOutput()
    wanted = _format(sample_rate, min(channels, 2))
    if device.isFormatSupported(wanted):
        return wanted.sampleRate(), wanted.channelCount()
    preferred = device.preferredFormat()
    return preferred.sampleRate(), min(max(preferred.channelCount(), 1), 2)


def prepare_stems(paths: Sequence[Path], sample_rate: int, channels: int) -> list[np.ndarray]:
    """Read stems and convert them to ``(channels, n)`` float32 at ``sample_rate`` for the mixer."""
    stems = []
    for path in paths:
        audio, rate = read_audio(path)
        if audio.shape[0] != channels:
            mono = audio.mean(axis=0, keepdims=True)
            audio = np.repeat(mono, channels, axis=0) if channels > 1 else mono
        stems.append(resample(np.ascontiguousarray(audio), rate, sample_rate))
    return stems


class MixSource(QIODevice):
    """A read-only device that mixes ``(channels, n)`` stems into interleaved int16 as it is read.

    ``gains`` (linear) and ``audible`` may change while it plays; the next read uses them.
    """

    def __init__(self, stems: Sequence[np.ndarray], start_frame: int = 0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stems = list(stems)
        self.frames = min(s.shape[1] for s in self.stems) if self.stems else 0
        self.channels = self.stems[0].shape[0] if self.stems else 1
        self.gains = [1.0] * len(self.stems)
        self.audible = [True] * len(self.stems)
        self.position = min(max(start_frame, 0), self.frames)

    def start(self) -> None:
        """Open for reading, unbuffered so that level and solo changes are heard at the next read."""
        self.open(QIODevice.OpenModeFlag.ReadOnly | QIODevice.OpenModeFlag.Unbuffered)

    def isSequential(self) -> bool:
        return True

    def bytesAvailable(self) -> int:
        return (self.frames - self.position) * self.channels * BYTES_PER_SAMPLE + super().bytesAvailable()

    def readData(self, maxlen: int) -> bytes:
        count = min(maxlen // (self.channels * BYTES_PER_SAMPLE), self.frames - self.position)
        if count <= 0:
            return b""
        mix = np.zeros((self.channels, count), dtype=np.float32)
        for stem, gain, audible in zip(self.stems, self.gains, self.audible):
            if audible and gain > 0:
                mix += gain * stem[:, self.position : self.position + count]
        self.position += count
        pcm = np.rint(np.clip(mix, -1.0, 1.0) * 32767.0)
        return np.ascontiguousarray(pcm.T).astype("<i2").tobytes()

    def writeData(self, data: bytes) -> int:
        return -1


class Player(QObject):
    """Plays one set of stems; reports the play position in seconds while playing, and why playback failed."""

    position_changed = pyqtSignal(float)
    playing_changed = pyqtSignal(bool)
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.available = audio_output_available()
        self._stems: list[np.ndarray] = []
        self._sample_rate = 0
        self._gains: list[float] = []
        self._audible: list[bool] = []
        self._sink: QAudioSink | None = None
        self._source: MixSource | None = None
        self._start_frame = 0
        self._timer = QTimer(self)
        self._timer.setInterval(POSITION_INTERVAL_MS)
        self._timer.timeout.connect(self._report_position)

    @property
    def loaded(self) -> bool:
        return bool(self._stems)

    @property
    def playing(self) -> bool:
        return self._sink is not None

    def load(self, stems: Sequence[np.ndarray], sample_rate: int) -> None:
        """Take new stems (already in the device's format); stops whatever was playing."""
        self.stop()
        self._stems = list(stems)
        self._sample_rate = sample_rate
        self._gains = [1.0] * len(self._stems)
        self._audible = [True] * len(self._stems)

    def clear(self) -> None:
        """Forget the stems (frees their memory)."""
        self.load([], 0)

    def set_gain(self, index: int, gain: float) -> None:
        """Linear playback level of one stem, applied live."""
        if 0 <= index < len(self._gains):
            self._gains[index] = gain
            if self._source is not None:
                self._source.gains[index] = gain

    def set_audible(self, audible: Sequence[bool]) -> None:
        """Which stems are in the mix, applied live."""
        self._audible = list(audible)
        if self._source is not None:
            self._source.audible = list(audible)

    def play(self, start_seconds: float = 0.0) -> None:
        """Start (or restart) playback of the audible stems at ``start_seconds``."""
        if not self.available or not self._stems:
            return
        self.stop()
        self._start_frame = int(start_seconds * self._sample_rate)
        self._source = MixSource(self._stems, self._start_frame, self)
        self._source.gains = list(self._gains)
        self._source.audible = list(self._audible)
        self._source.start()
        self._sink = QAudioSink(QMediaDevices.defaultAudioOutput(), _format(self._sample_rate, self._source.channels))
        self._sink.stateChanged.connect(self._state_changed)
        self._sink.start(self._source)
        if self._sink.error() != QAudio.Error.NoError:
            error = SINK_ERRORS.get(self._sink.error(), "unknown reason")
            self._sink.stateChanged.disconnect(self._state_changed)
            self._sink.deleteLater()
            self._source.deleteLater()
            self._sink = self._source = None
            self.failed.emit(f"Playback failed: the audio output could not be opened ({error})")
            return
        self._timer.start()
        self.playing_changed.emit(True)

    def stop(self) -> None:
        """Stop playback; a no-op when nothing plays."""
        if self._sink is None:
            return
        sink, source = self._sink, self._source
        self._sink = self._source = None
        self._timer.stop()
        sink.stateChanged.disconnect(self._state_changed)
        sink.stop()
        sink.deleteLater()
        if source is not None:
            source.close()
            source.deleteLater()
        self.playing_changed.emit(False)

    def _state_changed(self, state: QAudio.State) -> None:
        if state in (QAudio.State.IdleState, QAudio.State.StoppedState):
            self.stop()

    def _report_position(self) -> None:
        if self._sink is not None and self._sample_rate:
            self.position_changed.emit(self._start_frame / self._sample_rate + self._sink.processedUSecs() / 1e6)


def _format(sample_rate: int, channels: int) -> QAudioFormat:
    fmt = QAudioFormat()
    fmt.setSampleRate(sample_rate)
    fmt.setChannelCount(channels)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return fmt
