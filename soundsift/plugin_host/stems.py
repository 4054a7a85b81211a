"""StemChains: split by text queries once, run a chain on each stem and on the rest, remix."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host.align import AlignedSum
from soundsift.plugin_host.chain import Chain, Processor
from soundsift.plugin_host.separating import SeparatingStage
from soundsift.separation import OVERLAP, REST, SEGMENT_SECONDS, check_gain_db, check_queries


def as_chain(item: Any) -> Chain:
    """A chain from a chain, a list of processors, or a single processor."""
    if isinstance(item, Chain):
        return item
    return Chain(item if isinstance(item, (list, tuple)) else [item])


class StemChains(SeparatingStage):
    """Per-stem processing: "reverb only on the vocals", "duck the crowd by 12 dB".

    ``stems`` maps each query to the chain its stem goes through (a :class:`Chain`, a list,
    or one processor); ``rest`` is the chain for everything the queries did not take (none:
    left as it is).  The separation runs once for all queries, and its stems are one split of
    the input (a sound several queries describe is shared, never taken twice); the processed stems and rest
    are summed with ``gain_db`` per stem name (``"rest"`` included, default 0 dB), aligned
    to the sample whatever each chain's latency.  With empty chains and no gains the output
    is the input, delayed by the separator's latency in a stream.

    Example:
        >>> from pedalboard import Reverb
        >>> from soundsift.plugin_host import StemChains
        >>> board = StemChains({"vocals": [Reverb()], "crowd noise": []}, gain_db={"crowd noise": -12},
        ...                    model="path/to/model")                                      # doctest: +SKIP
    """

    def __init__(
        self,
        stems: Mapping[str, Any],
        rest: Any = None,
        gain_db: Mapping[str, float] | None = None,
        model: str | Path = DEFAULT_MODEL,
        engine: str = "auto",
        device: str = "auto",
        segment_seconds: float = SEGMENT_SECONDS,
        overlap: float = OVERLAP,
    ) -> None:
        super().__init__(model, engine, device, segment_seconds, overlap)
        queries = check_queries(list(stems))
        self._stems = {q: as_chain(chain) for q, chain in zip(queries, stems.values())}
        self._rest = as_chain([] if rest is None else rest)
        self.gain_db = dict(gain_db or {})
        self._sum = AlignedSum()

    @property
    def stems(self) -> dict[str, Chain]:
        """Each query's chain (the chains themselves: edit them in place)."""
        return dict(self._stems)

    @property
    def rest(self) -> Chain:
        """The chain for everything the queries did not take."""
        return self._rest

    @property
    def gain_db(self) -> dict[str, float]:
        """Remix gain in decibels per stem name, ``"rest"`` included (0 dB when absent)."""
        return dict(self._gain_db)

    @gain_db.setter
    def gain_db(self, value: Mapping[str, float]) -> None:
        names = [*self._stems, REST]
        gains = {}
        for name, gain in value.items():
            if name not in names:
                raise InvalidArgumentError(f"gain_db names unknown stem {name!r}; stems are {names}")
            gains[name] = check_gain_db(gain, f"gain_db[{name!r}]")
        self._gain_db = gains

    def _queries(self) -> list[str]:
        return list(self._stems)

    def _mode(self) -> str:
        return "extract"

    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        if reset:
            self._sum.reset()
        inp, out = self._separate(audio, sample_rate, reset)
        chains = [*self._stems.values(), self._rest]
        parts = [*out, inp - out.sum(axis=0)]
        outputs = [chain.render(part, sample_rate, buffer_size, reset) for chain, part in zip(chains, parts)]
        gains = [10.0 ** (self._gain_db.get(name, 0.0) / 20.0) for name in [*self._stems, REST]]
        return self._sum.add(outputs, gains)

    def reset(self) -> None:
        super().reset()
        self._sum.reset()
        for chain in [*self._stems.values(), self._rest]:
            chain.reset()

    def children(self) -> Sequence[Processor]:
        return [*self._stems.values(), self._rest]

    def __repr__(self) -> str:
        stems = ", ".join(f"{q!r}: {c!r}" for q, c in self._stems.items())
        return (
            f"StemChains({{{stems}}}, rest={self._rest!r}, gain_db={self._gain_db!r}, model={self.model!r}, "
            f"engine={self.engine!r}, device={self.device!r}, segment_seconds={self.segment_seconds:g}, "
            f"overlap={self.overlap:g})"
        )
