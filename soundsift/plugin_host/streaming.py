"""Open-ended streaming of a per-segment function at a fixed latency, on the engine's cross-fades."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

import numpy as np

from soundsift.core.chunked import SegmentPlan, chunked
from soundsift.errors import SoundsiftError

UNBOUNDED = 1 << 62
"""A stream length no real stream reaches: a plan over it never has a last segment."""


class StreamFailedError(SoundsiftError):
    """A stream was fed again after an error broke it; it must be reset to start a new one."""


class SegmentStream:
    """Feeds blocks of any size through :func:`soundsift.core.chunked` as they arrive.

    ``fn`` maps a ``(channels, L)`` segment to ``(stems, channels, L)``.  Segments of ``plan.segment`` samples start every ``plan.hop`` samples from the first
    sample of the stream and are cross-faded exactly as the engine does for files.  A sample
    is final once the segment after it has been computed, so the output lags the input by
    ``latency == plan.segment`` samples, whatever the block sizes; the result never depends
    on how the input was cut into blocks.  Memory holds about two segments.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], plan: SegmentPlan, channels: int, stems: int) -> None:
        if plan.total != UNBOUNDED:
            raise ValueError("a stream's plan must be made for UNBOUNDED samples")
        self.latency = plan.segment
        self.channels = channels
        self.stems = stems
        self._plan = plan
        self._inbox: deque[np.ndarray] = deque()
        self._received = 0
        self._computed = 0
        self._regions = chunked(self._take_inbox(), plan, channels, fn)
        self._finished: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._released = 0
        self._failure: str | None = None

    def _take_inbox(self) -> Iterator[np.ndarray]:
        """The engine's input: it asks only for samples that :meth:`push` has already received."""
        while True:
            yield self._inbox.popleft()

    def push(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``(channels, n)`` float32 samples; return what the latency releases.

        Returns ``(input, output)``: the released input region ``(channels, m)`` and the
        function's cross-faded output for it ``(stems, channels, m)``, both aligned.
        """
        if self._failure is not None:
            raise StreamFailedError(f"the stream stopped at an earlier error ({self._failure}); call reset() or pass "
                                    "reset=True to start a new one")
        if block.shape[0] != self.channels:
            raise ValueError(f"stream has {self.channels} channels, block has {block.shape[0]}")
        if block.shape[1]:
            self._inbox.append(block)
            self._received += block.shape[1]
        while self._plan.bounds(self._computed)[1] <= self._received:
            try:
                self._finished.append(next(self._regions))
            except BaseException as exc:  # the engine's generator is closed now: nothing can follow in this stream
                self._failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise
            self._computed += 1
        return self._release(max(0, self._received - self.latency) - self._released)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Push ``latency`` samples of silence: releases the rest of a stream that has ended."""
        return self.push(np.zeros((self.channels, self.latency), dtype=np.float32))

    def _release(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        inputs, outputs = [], []
        while count > 0:
            inp, out = self._finished[0]
            take = min(count, inp.shape[1])
            inputs.append(inp[:, :take])
            outputs.append(out[..., :take])
            if take == inp.shape[1]:
                self._finished.popleft()
            else:
                self._finished[0] = (inp[:, take:], out[..., take:])
            count -= take
            self._released += take
        if not inputs:
            return np.zeros((self.channels, 0), np.float32), np.zeros((self.stems, self.channels, 0), np.float32)
        return np.concatenate(inputs, axis=1), np.concatenate(outputs, axis=-1)
