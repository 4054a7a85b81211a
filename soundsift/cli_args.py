"""Argument types shared by the command-line modules."""
from __future__ import annotations

import argparse
import json


def key_value(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON when it is (true, 3, 0.5), else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
