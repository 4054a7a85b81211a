"""Mix: parallel branches fed the same input and summed, aligned to the sample whatever their latency."""
from __future__ import annotations

from collections.abc import Iterable, MutableSequence, Sequence
from typing import Any, overload

import numpy as np

from soundsift.plugin_host.align import AlignedSum
from soundsift.plugin_host.chain import Processor, check_processor, runnable
from soundsift.plugin_host.stage import Stage


class Mix(Stage, MutableSequence):
    """Runs every branch on the same input and sums the results (a dry/wet or multiband split).

    Branches are processors or lists (nested chains).  In a stream each branch releases its
    output after its own latency; the mix sums only samples every branch has released, so
    the branches stay aligned to the sample and the mix's latency is the largest branch's.
    An empty branch list gives silence.

    Example:
        >>> from pedalboard import Reverb
        >>> from soundsift.plugin_host import Mix, TextSeparate
        >>> dry_wet = Mix([[], [TextSeparate("vocals", model="path/to/model"), Reverb()]])  # doctest: +SKIP
    """

    def __init__(self, branches: Iterable[Any] = ()) -> None:
        self._branches: list[Processor] = [check_processor(b) for b in branches]
        self._runs: list[Stage] | None = None
        self._sum = AlignedSum()

    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        if not self._branches:
            return np.zeros_like(audio)
        if reset:
            self._sum.reset()
        if self._runs is None:
            self._runs = [runnable(b) for b in self._branches]
        return self._sum.add([run.render(audio, sample_rate, buffer_size, reset) for run in self._runs])

    def reset(self) -> None:
        super().reset()
        self._sum.reset()
        for branch in self._branches:
            branch.reset()
        self._runs = None

    def _changed(self) -> None:
        """The branches changed: what was queued for the old ones no longer lines up."""
        self._runs = None
        self._sum.reset()

    def children(self) -> Sequence[Processor]:
        return list(self._branches)

    @overload
    def __getitem__(self, index: int) -> Processor: ...

    @overload
    def __getitem__(self, index: slice) -> list[Processor]: ...

    def __getitem__(self, index: int | slice) -> Processor | list[Processor]:
        return self._branches[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._branches[index] = [check_processor(v) for v in value]
        else:
            self._branches[index] = check_processor(value)
        self._changed()

    def __delitem__(self, index: int | slice) -> None:
        del self._branches[index]
        self._changed()

    def __len__(self) -> int:
        return len(self._branches)

    def insert(self, index: int, value: Any) -> None:
        """Insert a branch (a processor, or a list as a chain) before ``index``."""
        self._branches.insert(index, check_processor(value))
        self._changed()

    def __repr__(self) -> str:
        return f"Mix([{', '.join(repr(b) for b in self._branches)}])"
