"""The base of soundsift's processors: the Pedalboard plugin surface over one ``render`` method."""
from __future__ import annotations

import abc
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host.layout import Layout, detect_layout


class Stage(abc.ABC):
    """A soundsift processor that behaves like a Pedalboard plugin.

    ``process(input_array, sample_rate, buffer_size=8192, reset=True)`` (also ``__call__``)
    takes 1-D mono or 2-D channels-first or channels-last float32/float64 audio and returns
    float32 audio in the same layout, as Pedalboard does.  With ``reset=True`` the input is
    a whole signal: the result has its length and is aligned with it.  With ``reset=False``
    consecutive calls stream one signal: each call returns the aligned output that the
    stage's latency has released so far, so the first calls return fewer samples.
    """

    _layout: Layout | None = None
    _channels: int | None = None

    def process(
        self, input_array: np.ndarray, sample_rate: float, buffer_size: int = 8192, reset: bool = True
    ) -> np.ndarray:
        """Run audio through the stage (see the class docstring for layouts and streaming)."""
        sample_rate = check_sample_rate(sample_rate)
        buffer_size = check_buffer_size(buffer_size)
        if reset:
            self.reset()
        layout = detect_layout(input_array, self._channels, self._layout)
        audio = layout.to_channels_first(input_array)
        out = self.render(audio, sample_rate, buffer_size, reset)
        if reset:
            self.reset()
        else:
            self._layout, self._channels = layout, audio.shape[0]
        return layout.restore(out)

    __call__ = process

    @abc.abstractmethod
    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        """Process ``(channels, n)`` float32 audio into ``(channels, m)`` float32 audio.

        With ``reset=True`` the input is a whole signal and ``m == n``; otherwise it is the
        next block of a stream and ``m`` is what the latency releases.  Hosts call this.
        """

    def reset(self) -> None:
        """Forget the running stream, so that the next call starts a new one."""
        self._layout = None
        self._channels = None

    def children(self) -> Sequence[Any]:
        """The processors nested inside this one (none by default)."""
        return ()


def check_sample_rate(sample_rate: float) -> float:
    """A positive, finite sample rate in Hz, as a float."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"sample_rate must be a number of Hz, got {sample_rate!r}")
    if not math.isfinite(sample_rate) or sample_rate <= 0:
        raise InvalidArgumentError(f"sample_rate must be positive, got {sample_rate}")
    return float(sample_rate)


def check_buffer_size(buffer_size: int) -> int:
    """A positive whole number of samples."""
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) or buffer_size < 1:
        raise InvalidArgumentError(f"buffer_size must be a positive whole number of samples, got {buffer_size!r}")
    return int(buffer_size)


def walk(processor: Any) -> Iterator[Any]:
    """``processor`` and every processor nested inside it, depth first."""
    yield processor
    if isinstance(processor, Stage):
        for child in processor.children():
            yield from walk(child)
