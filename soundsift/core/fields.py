"""Type and range checks of settings dataclasses filled from plain data (``config.json``, recipes).

A field's type comes from its annotation, its range (where it has one) from
``bounded(default, low, high)``.  Failures are ValueErrors that name the field, so that
each reader wraps them in its own error type; checking the values before the dataclass is
made keeps a hostile file from reaching code that would allocate by them.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

RANGE = "range"
_NAMES = {bool: "true or false", int: "a whole number", float: "a finite number", str: "text", dict: "a mapping"}


def bounded(default: float, low: float, high: float) -> Any:
    """A dataclass field with ``default`` that must lie in ``[low, high]``."""
    return dataclasses.field(default=default, metadata={RANGE: (low, high)})


def check_values(cls: type, values: Mapping[str, Any]) -> None:
    """Refuse values of the wrong type or out of range for dataclass ``cls``'s fields (unknown names are skipped)."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in values.items():
        if name not in fields:
            continue
        expected = hints[name]
        if not _matches(value, expected):
            raise ValueError(f"{name} must be {_describe(expected)}, got {value!r}")
        if RANGE in fields[name].metadata:
            low, high = fields[name].metadata[RANGE]
            if not low <= value <= high:
                raise ValueError(f"{name} must be from {low:g} to {high:g}, got {value!r}")


def check_fields(instance: Any) -> None:
    """:func:`check_values` on every field of a dataclass instance (call it from ``__post_init__``)."""
    check_values(type(instance), {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _matches(value: Any, expected: Any) -> bool:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any:
        return True
    if expected is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if origin is tuple:
        return isinstance(value, (tuple, list)) and all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    return isinstance(value, origin or expected)


def _describe(expected: Any) -> str:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args if arg is not type(None))
    if origin is tuple:
        return f"a list, each item {_describe(args[0])}"
    if origin is dict:
        return f"a mapping whose values are each {_describe(args[1])}" if args and args[1] is not Any else "a mapping"
    return _NAMES.get(expected, getattr(expected, "__name__", str(expected)))
