"""Loading the separator the stages share, and running one segment of audio through it."""
from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

import soundsift
from soundsift.errors import InvalidArgumentError
from soundsift.queries import QueryLike, query_name
from soundsift.separation import SeparationOptions


def engine_selectable() -> bool:
    """True when this soundsift's ``load_model`` chooses between engines (torch or ONNX Runtime)."""
    return "engine" in inspect.signature(soundsift.load_model).parameters


def available_engines() -> tuple[str, ...]:
    """The engine names a stage accepts."""
    return ("auto", "torch", "onnx") if engine_selectable() else ("auto", "torch")


def check_engine(engine: str) -> str:
    """An engine name this soundsift can run."""
    engines = available_engines()
    if engine not in engines:
        raise InvalidArgumentError(f"engine must be one of {engines}, got {engine!r}")
    return engine


@functools.lru_cache(maxsize=4)
def load_separator(model: str, engine: str, device: str) -> Any:
    """Load a model once per (model, engine, device), however many stages use it."""
    check_engine(engine)
    if engine_selectable():
        return soundsift.load_model(model, device=device, engine=engine)
    return soundsift.load_model(model, device=device)


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
