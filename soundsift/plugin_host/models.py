"""Loading the separator the stages share, and running one segment of audio through it."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

import soundsift
from soundsift.engines import ENGINES
from soundsift.errors import InvalidArgumentError
from soundsift.queries import QueryLike, query_name
from soundsift.separation import SeparationOptions


def check_engine(engine: str) -> str:
    """An engine name soundsift can run (``auto``, ``torch`` or ``onnx``)."""
    if engine not in ENGINES:
        raise InvalidArgumentError(f"engine must be one of {ENGINES}, got {engine!r}")
    return engine


@functools.lru_cache(maxsize=4)
def shared_separator(model: str, engine: str, device: str) -> Any:
    """Load a model once per (model, engine, device), however many stages use it."""
    return soundsift.load_model(model, device=device, engine=check_engine(engine))


def separate_segment(
    separator: Any, segment: np.ndarray, queries: list[QueryLike], sample_rate: float, options: SeparationOptions
) -> np.ndarray:
    """Separate one ``(channels, L)`` segment, ``L`` at most a segment long, into ``(queries, channels, L)``.

    The segment goes through the public facade (``separate``, which every engine's separator
    has) as a signal of its own; the stream around it does the cross-fading, exactly as the
    engine does for a file.
    """
    stems = separator.separate(segment, queries, int(sample_rate), options=options)
    return np.stack([stems[query_name(q)] for q in queries])
