"""Checking preset values against the type a parameter expects, with errors that say where."""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from soundsift.errors import PresetError

TYPE_NAMES = {float: "a number", bool: "true or false", str: "text", dict: "a table", list: "an array"}
MAX_NESTING = 64
"""Deepest nesting of tables and arrays a preset may have (a stage inside a chain counts two)."""


def check_value(value: Any, expected: type, where: str) -> Any:
    """``value`` as ``expected`` (ints count as floats, nothing else converts), or a PresetError.

    NaN is refused wherever a number goes: no parameter means anything by it.
    """
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            raise PresetError(f"{where} must be a number, got nan")
        return float(value)
    if isinstance(value, expected) and not (expected is not bool and isinstance(value, bool)):
        return value
    raise PresetError(f"{where} must be {TYPE_NAMES.get(expected, expected.__name__)}, got {value!r}")


def check_nesting(data: Any, where: str) -> None:
    """Refuse tables and arrays nested deeper than :data:`MAX_NESTING` (walked without recursion)."""
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            raise PresetError(f"{where}: nested more than {MAX_NESTING} tables and arrays deep")
        children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children)


def check_keys(table: Mapping[str, Any], allowed: Mapping[str, type], where: str, required: tuple[str, ...] = ()) -> dict:
    """The entries of ``table`` checked against ``allowed`` names and types; unknown or missing names fail."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise PresetError(f"{where}: unknown parameter {unknown[0]!r}; known parameters: {', '.join(allowed) or 'none'}")
    missing = [name for name in required if name not in table]
    if missing:
        raise PresetError(f"{where}: missing parameter {missing[0]!r}")
    return {name: check_value(value, allowed[name], f"{where}: parameter {name!r}") for name, value in table.items()}


def plain(value: Any, where: str) -> Any:
    """A parameter value as TOML can hold it: number, bool, text, or an enum's member name.

    Numbers that a float32 holds exactly (most effects store float32) are written in the
    shortest form that reads back to the same float32: ``0.33``, not ``0.33000001311302185``.
    """
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        single = np.float32(value)
        return float(str(single)) if float(single) == value else float(value)
    if hasattr(type(value), "__members__") and hasattr(value, "name"):
        return value.name
    if isinstance(value, Path):
        return str(value)
    raise PresetError(f"{where}: cannot save a value of type {type(value).__name__} ({value!r})")


def local_path(value: str, base: Path | None) -> str:
    """A relative path read from a preset, taken relative to the preset's folder."""
    path = Path(value).expanduser()
    return str(path if base is None or path.is_absolute() else base / path)
