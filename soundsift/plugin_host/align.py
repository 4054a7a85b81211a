"""Summing parallel streams that start together but reach the output after different delays."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soundsift.errors import InvalidArgumentError


class AlignedSum:
    """Sums branch outputs sample-aligned, releasing only what every branch has produced.

    Each branch returns audio aligned with the shared input but, in a stream, fewer samples
    while its latency fills; the sum waits for the slowest branch, so it is never smeared
    and holds at most the difference in latency between branches.
    """

    def __init__(self) -> None:
        self._pending: list[np.ndarray] = []

    def reset(self) -> None:
        """Drop what is waiting, for a new stream."""
        self._pending = []

    def add(self, outputs: Sequence[np.ndarray], gains: Sequence[float] | None = None) -> np.ndarray:
        """Queue one call's ``(channels, n_i)`` output per branch; return the aligned weighted sum so far."""
        if len({o.shape[0] for o in outputs}) > 1:
            shapes = ", ".join(f"{o.shape[0]}" for o in outputs)
            raise InvalidArgumentError(f"parallel branches must give the same channel count, got {shapes}")
        if not self._pending:
            self._pending = [np.zeros((o.shape[0], 0), np.float32) for o in outputs]
        self._pending = [np.concatenate([p, o], axis=1) if p.shape[1] else o for p, o in zip(self._pending, outputs)]
        ready = min(p.shape[1] for p in self._pending)
        total = np.zeros((outputs[0].shape[0], ready), np.float32)
        for index, pending in enumerate(self._pending):
            gain = 1.0 if gains is None else gains[index]
            total += pending[:, :ready] * np.float32(gain)
        self._pending = [p[:, ready:] for p in self._pending]
        return total
