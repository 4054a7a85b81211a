"""Chain: Pedalboard plugins and soundsift stages in series, native runs handed to Pedalboard itself."""
from __future__ import annotations

from collections.abc import Iterable, MutableSequence, Sequence
from typing import Any, overload

import numpy as np
import pedalboard

from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host.stage import Stage

Processor = pedalboard.Plugin | Stage
"""Anything a chain can hold: a Pedalboard plugin (built-in, VST3/AU, or a native board) or a soundsift stage."""


def check_processor(item: object) -> Processor:
    """``item`` if a chain can run it; lists become nested :class:`Chain` objects."""
    if isinstance(item, (list, tuple)):
        return Chain(item)
    if isinstance(item, (pedalboard.Plugin, Stage)):
        return item
    raise InvalidArgumentError(f"expected a Pedalboard plugin or a soundsift stage, got {type(item).__name__}")


class NativeRun(Stage):
    """Pedalboard plugins run as one stage, fed so that their buffer size never grows mid-stream.

    Pedalboard re-prepares (and so clears) many plugins when a call brings more samples than
    any before it, up to ``buffer_size``.  A stream therefore holds back its first samples
    until ``buffer_size`` of them can go in at once; later blocks of any size then pass
    straight through, and the result equals one whole-signal call.
    """

    def __init__(self, plugins: Sequence[pedalboard.Plugin]) -> None:
        self.plugin = plugins[0] if len(plugins) == 1 else pedalboard.Pedalboard(list(plugins))
        self._held: np.ndarray | None = None
        self._started = False

    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        if reset:
            self.reset()
            return self.plugin.process(audio, sample_rate, buffer_size, True)
        if self._held is not None:
            audio = np.concatenate([self._held, audio], axis=1)
            self._held = None
        if not self._started and audio.shape[1] < buffer_size:
            self._held = audio
            return audio[:, :0]
        self._started = True
        return self.plugin.process(audio, sample_rate, buffer_size, False) if audio.shape[1] else audio

    def reset(self) -> None:
        super().reset()
        self._held = None
        self._started = False


def runnable(item: Processor) -> Stage:
    """A stage that runs ``item``: soundsift stages as they are, Pedalboard plugins wrapped."""
    return item if isinstance(item, Stage) else NativeRun([item])


class Chain(Stage, MutableSequence):
    """Processors in series, in any mix of Pedalboard plugins and soundsift stages.

    Behaves like a list (indexing, ``append``, ``insert``, ``remove``) and like a Pedalboard
    plugin (see :class:`~soundsift.plugin_host.stage.Stage`).  Consecutive Pedalboard
    plugins run together through one :class:`pedalboard.Pedalboard`, so Pedalboard handles
    their buffering and latency; lists inside the list become nested chains.

    Example:
        >>> from pedalboard import Gain, Reverb
        >>> from soundsift.plugin_host import Chain, TextSeparate
        >>> board = Chain([Gain(6), TextSeparate("vocals", model="path/to/model"), Reverb()])  # doctest: +SKIP
        >>> wet = board(audio, 44100)                                                         # doctest: +SKIP
    """

    def __init__(self, processors: Iterable[Any] = ()) -> None:
        self._items: list[Processor] = [check_processor(p) for p in processors]
        self._runs: list[Stage] | None = None

    def _grouped(self) -> list[Stage]:
        """The chain with each run of consecutive Pedalboard plugins joined into one native stage."""
        if self._runs is None:
            runs: list[Stage] = []
            native: list[pedalboard.Plugin] = []
            for item in [*self._items, None]:
                if isinstance(item, pedalboard.Plugin):
                    native.append(item)
                    continue
                if native:
                    runs.append(NativeRun(native))
                    native = []
                if item is not None:
                    runs.append(item)
            self._runs = runs
        return self._runs

    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        for stage in self._grouped():
            audio = stage.render(audio, sample_rate, buffer_size, reset)
        return audio

    def reset(self) -> None:
        super().reset()
        for item in self._items:
            item.reset()
        self._runs = None

    def children(self) -> Sequence[Processor]:
        return list(self._items)

    @overload
    def __getitem__(self, index: int) -> Processor: ...

    @overload
    def __getitem__(self, index: slice) -> list[Processor]: ...

    def __getitem__(self, index: int | slice) -> Processor | list[Processor]:
        return self._items[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._items[index] = [check_processor(v) for v in value]
        else:
            self._items[index] = check_processor(value)
        self._runs = None

    def __delitem__(self, index: int | slice) -> None:
        del self._items[index]
        self._runs = None

    def __len__(self) -> int:
        return len(self._items)

    def insert(self, index: int, value: Any) -> None:
        """Insert a processor (or a list, as a nested chain) before ``index``."""
        self._items.insert(index, check_processor(value))
        self._runs = None

    def __repr__(self) -> str:
        return f"Chain([{', '.join(repr(p) for p in self._items)}])"
