"""Reading excerpts of library files as mono audio at the model rate, without decoding whole files."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from soundsift.audio import AudioReader, downmix, read_audio, resample
from soundsift.training.data.levels import fit_length

WHOLE_FILE_SECONDS = 30.0  # shorter files are decoded whole once and kept in memory


class ExcerptReader:
    """Mono excerpts of files at ``sample_rate``; short files are cached, long ones read by seeking."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._cache: dict[Path, np.ndarray] = {}

    def read(self, path: Path, start: float, seconds: float, duration: float) -> np.ndarray:
        """``seconds`` of ``path`` from ``start`` (s), zero-padded past the end. Shape: (samples,)."""
        length = round(seconds * self.sample_rate)
        if duration <= WHOLE_FILE_SECONDS:
            whole = self._whole(path)
            begin = round(start * self.sample_rate)
            return fit_length(whole[begin : begin + length], length)
        return fit_length(self._seek(path, start, seconds), length)

    def _whole(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            audio, rate = read_audio(path)
            self._cache[path] = resample(downmix(audio)[None], rate, self.sample_rate)[0]
        return self._cache[path]

    def _seek(self, path: Path, start: float, seconds: float) -> np.ndarray:
        with AudioReader(path) as reader:
            rate = reader.sample_rate
            block = reader.read_at(round(start * rate), round(seconds * rate))
        return resample(downmix(block)[None], rate, self.sample_rate)[0]
