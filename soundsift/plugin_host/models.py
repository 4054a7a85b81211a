"""Loading the separator the stages share, and running one segment of audio through it."""
from __future__ import annotations

import functools

import numpy as np

from soundsift.errors import InvalidArgumentError
from soundsift.separator import SeparationOptions, Separator

ENGINES = ("auto", "torch")


def check_engine(engine: str) -> str:
    """An engine name this soundsift can run."""
    if engine not in ENGINES:
        raise InvalidArgumentError(f"engine must be one of {ENGINES}, got {engine!r}")
    return engine


@functools.lru_cache(maxsize=4)
def load_separator(model: str, engine: str, device: str) -> Separator:
    """Load a model once per (model, engine, device), however many stages use it."""
    check_engine(engine)
    return Separator.load(model, device=device)


def separate_segment(
    separator: Separator, segment: np.ndarray, queries: list[str], sample_rate: float, options: SeparationOptions
) -> np.ndarray:
    """Separate one ``(channels, L)`` segment, ``L`` at most a segment long, into ``(queries, channels, L)``.

    The segment goes through the public facade as a signal of its own; the stream around it
    does the cross-fading, exactly as the engine does for a file.
    """
    stems = separator.separate(segment, queries, int(sample_rate), options=options)
    return np.stack([stems[q] for q in queries])
