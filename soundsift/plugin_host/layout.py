"""The array layouts Pedalboard accepts, converted to and from soundsift's ``(channels, samples)`` float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundsift.errors import InvalidArgumentError


@dataclass(frozen=True)
class Layout:
    """How a caller lays out audio: 1-D mono, or 2-D channels-first or channels-last."""

    ndim: int
    channels_last: bool

    def to_channels_first(self, array: np.ndarray) -> np.ndarray:
        """The caller's array as a fresh C-contiguous float32 ``(channels, samples)`` array."""
        audio = array[None, :] if self.ndim == 1 else (array.T if self.channels_last else array)
        return np.array(audio, dtype=np.float32, order="C", copy=True)

    def restore(self, audio: np.ndarray) -> np.ndarray:
        """A ``(channels, samples)`` result in the caller's layout (1-D only while it stays mono)."""
        if self.ndim == 1 and audio.shape[0] == 1:
            return audio[0]
        return np.ascontiguousarray(audio.T) if self.channels_last else audio


def detect_layout(array: np.ndarray, channels: int | None = None, previous: Layout | None = None) -> Layout:
    """Guess the layout as Pedalboard does: the smaller dimension holds the channels.

    ``channels`` (the channel count of a running stream) settles shapes such as ``(6, 3)``,
    and ``previous`` settles square ones such as ``(2, 2)``.
    """
    if not isinstance(array, np.ndarray):
        raise InvalidArgumentError(f"expected a numpy array of samples, got {type(array).__name__}")
    if array.dtype not in (np.float32, np.float64):
        raise InvalidArgumentError(f"expected float32 or float64 samples, got {array.dtype}")
    if array.ndim == 1:
        return Layout(1, False)
    if array.ndim != 2:
        raise InvalidArgumentError(f"expected a 1-D or 2-D array, got shape {array.shape}")
    rows, cols = array.shape
    if rows == cols and rows > 1:
        if previous is None or previous.ndim != 2:
            raise InvalidArgumentError(f"cannot tell channels from samples in an array of shape {array.shape}")
        return previous
    if channels is not None and channels in (rows, cols):
        return Layout(2, cols == channels and rows != channels)
    if rows == 0 or cols == 0:
        return Layout(2, rows == 0)
    return Layout(2, cols < rows)
