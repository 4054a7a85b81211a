"""soundsift: pull sounds out of a recording by describing them in text."""
from __future__ import annotations

from soundsift.errors import (
    AudioError,
    CheckpointError,
    InvalidArgumentError,
    NoDefaultModelError,
    SeparationCancelled,
    SoundsiftError,
)
from soundsift.separator import SeparationOptions, Separator

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "CheckpointError",
    "InvalidArgumentError",
    "NoDefaultModelError",
    "SeparationCancelled",
    "SeparationOptions",
    "Separator",
    "SoundsiftError",
    "__version__",
    "load_model",
]


def load_model(name_or_path: str | None = None, device: str = "auto") -> Separator:
    """Shorthand for :meth:`Separator.load`."""
    return Separator.load(name_or_path, device)
