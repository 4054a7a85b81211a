"""Segment-wise processing with cross-fades, streaming, in bounded memory.

:func:`chunked` wraps any per-segment function ``fn((channels, L)) -> (stems, channels, L)``:
the input stream is cut into segments of ``segment`` samples that overlap by ``overlap``
samples (at most half a segment, so that no sample lies in more than two segments); each output segment is weighted by linear cross-fade ramps that sum to one
across every overlap (flat at the signal's ends), and overlap-added.  Regions are yielded
as soon as no later segment can touch them, so memory holds at most two segments whatever
the input length.  An identity ``fn`` gives the input back.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from soundsift.errors import SeparationCancelled

ProgressCallback = Callable[[int, int], None]
BatchFn = Callable[[list[np.ndarray]], list[np.ndarray]]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class SegmentPlan:
    """Where the segments of a ``total``-sample signal start, and how they are weighted."""

    total: int
    segment: int
    overlap: int

    def __post_init__(self) -> None:
        if self.segment <= 0:
            raise ValueError(f"segment must be positive, got {self.segment} samples")
        if not 0 <= self.overlap <= self.segment // 2:
            raise ValueError(f"overlap must be at most half a segment, got {self.overlap} of {self.segment} samples")

    @property
    def hop(self) -> int:
        return self.segment - self.overlap

    @property
    def count(self) -> int:
        """Number of segments needed to cover the signal."""
        if self.total <= self.segment:
            return 1
        return 1 + math.ceil((self.total - self.segment) / self.hop)

    def bounds(self, index: int) -> tuple[int, int]:
        """(start, stop) sample range of segment ``index``."""
        start = index * self.hop
        return start, min(start + self.segment, self.total)

    def weights(self, index: int) -> np.ndarray:
        """Cross-fade weights of segment ``index``: ramps that sum to one with its neighbours."""
        start, stop = self.bounds(index)
        w = np.ones(stop - start, dtype=np.float32)
        if self.overlap:
            ramp = (np.arange(self.overlap, dtype=np.float32) + 0.5) / self.overlap
            if index > 0:
                w[: self.overlap] = ramp[: stop - start]
            if index < self.count - 1:
                w[-self.overlap :] = 1.0 - ramp
        return w


class _StreamBuffer:
    """Pulls blocks from an iterator and serves arbitrary sample ranges, dropping old samples."""

    def __init__(self, blocks: Iterable[np.ndarray], channels: int) -> None:
        self._blocks = iter(blocks)
        self._data = np.zeros((channels, 0), dtype=np.float32)
        self._offset = 0

    def get(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop); anything before ``start`` is forgotten."""
        if start > self._offset:
            self._data = self._data[:, start - self._offset :]
            self._offset = start
        pending = [self._data]
        have = self._offset + self._data.shape[1]
        while have < stop:
            block = next(self._blocks, None)
            if block is None:
                raise ValueError(f"input ended at sample {have}, expected {stop}")
            pending.append(block)
            have += block.shape[1]
        if len(pending) > 1:
            self._data = np.concatenate(pending, axis=1)
        return self._data[:, start - self._offset : stop - self._offset]

    def drain(self) -> None:
        """Consume what is left of the stream, so that its end-of-input checks run."""
        for _ in self._blocks:
            pass


def chunked(
    blocks: Iterable[np.ndarray],
    plan: SegmentPlan,
    channels: int,
    fn: Callable[[np.ndarray], np.ndarray],
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Apply ``fn`` segment by segment and yield finished regions in order.

    Args:
        blocks: the input as consecutive ``(channels, n)`` float32 blocks, ``plan.total`` in all.
        plan: segment layout.
        channels: channel count of the input.
        fn: maps a ``(channels, L)`` segment to ``(stems, channels, L)``.
        progress: called with (samples done, total) after each segment.
        cancel: polled before each segment; returning True raises :class:`SeparationCancelled`.

    Yields:
        ``(input_region (channels, n), output_region (stems, channels, n))`` covering the
        signal once, left to right.
    """
    return chunked_batches(blocks, plan, channels, lambda segments: [fn(s) for s in segments], 1, progress, cancel)


def chunked_batches(
    blocks: Iterable[np.ndarray],
    plan: SegmentPlan,
    channels: int,
    fn: BatchFn,
    batch: int,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`chunked` with ``fn`` given up to ``batch`` consecutive segments at a time.

    Batching lets an engine run several segments through its network in one call (a GPU
    wants that); cross-fades and output are the same as :func:`chunked`'s, and memory holds
    at most ``batch + 1`` segments.  ``fn`` maps a list of ``(channels, L)`` segments to a
    list of ``(stems, channels, L)`` outputs.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    source = _StreamBuffer(blocks, channels)
    carry: np.ndarray | None = None
    for first in range(0, plan.count, batch):
        if cancel is not None and cancel():
            raise SeparationCancelled("separation cancelled")
        indices = range(first, min(first + batch, plan.count))
        segments = [source.get(*plan.bounds(index)) for index in indices]
        for index, segment, result in zip(indices, segments, fn(segments)):
            start, stop = plan.bounds(index)
            out = result * plan.weights(index)
            if carry is not None:
                out[..., : carry.shape[-1]] += carry
            final = stop if index == plan.count - 1 else plan.bounds(index + 1)[0]
            done = final - start
            carry = out[..., done:].copy()
            yield segment[:, :done].copy(), out[..., :done]
            if progress is not None:
                progress(final, plan.total)
    source.drain()
