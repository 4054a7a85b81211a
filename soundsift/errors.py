"""Exceptions shared by the engine and its shells; shells turn them into one-line messages."""
from __future__ import annotations

from pathlib import Path


class SoundsiftError(Exception):
    """Base class for every error soundsift raises on purpose."""


class AudioError(SoundsiftError):
    """An input could not be decoded, or an output could not be written."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class CheckpointError(SoundsiftError):
    """A model directory is missing, malformed, or unsafe to load."""


class NoDefaultModelError(CheckpointError):
    """No model was named and no default model is installed."""


class SeparationCancelled(SoundsiftError):
    """Raised by the engine when the caller's cancel check asks it to stop."""


class InvalidArgumentError(SoundsiftError, ValueError):
    """A caller passed a value soundsift cannot work with (bad query, mode, device, ...)."""


class PresetError(SoundsiftError):
    """A chain preset is missing, malformed, or names a plugin or parameter that cannot be loaded."""
