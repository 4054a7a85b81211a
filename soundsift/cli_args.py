"""Argument types shared by the command-line modules."""
from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable

from soundsift.errors import InvalidArgumentError
from soundsift.separation import check_segment_seconds


def key_value(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON when it is (true, 3, 0.5), else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above zero (NaN and infinity refused)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def positive_number(text: str) -> float:
    """A finite number above zero (NaN and infinity refused), such as a learning rate."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def segment_seconds(text: str) -> float:
    """A segment length in the range separation accepts (:func:`soundsift.separation.check_segment_seconds`)."""
    try:
        return check_segment_seconds(float(text))
    except InvalidArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"segment length must be a number of seconds, got '{text}'") from None


def fraction(what: str, high: float = 1.0, *, include_high: bool = True) -> Callable[[str], float]:
    """A parser of a number from 0 to ``high`` (``high`` itself excluded unless ``include_high``), naming ``what``."""
    closing = "]" if include_high else ")"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 <= value <= high if include_high else 0 <= value < high):
            raise argparse.ArgumentTypeError(f"{what} must be a fraction in [0, {high:g}{closing}, got {text}")
        return value

    return parse
