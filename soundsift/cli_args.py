"""Argument types shared by the command-line modules."""
from __future__ import annotations

import argparse
import json
import math


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
