"""Turn the user's model choice into a loaded separator, with messages a person can act on."""
from __future__ import annotations

from pathlib import Path

import soundsift
from soundsift.core import read_config
from soundsift.core.store import DEFAULT_MODEL, resolve_model
from soundsift.errors import NoDefaultModelError, SoundsiftError
from soundsift.gui.jobs import ModelChoice
from soundsift.separation import SegmentSeparator

NO_DEFAULT_MODEL = (
    "No default model is installed yet. Open Settings (Ctrl+,) and choose a model folder "
    "or an installed model."
)


def load_choice(choice: ModelChoice) -> SegmentSeparator:
    """Load the chosen model on the chosen engine and device; raises SoundsiftError with a one-line message."""
    name = None if choice.model == DEFAULT_MODEL else choice.model
    try:
        return soundsift.load_model(name, device=choice.device, engine=choice.engine)
    except NoDefaultModelError:
        raise NoDefaultModelError(NO_DEFAULT_MODEL) from None


def model_problem(model: str) -> str:
    """Why the chosen model cannot be used ('' when it can), checked from its config without loading weights."""
    try:
        read_config(resolve_model(None if model == DEFAULT_MODEL else model))
    except NoDefaultModelError:
        return NO_DEFAULT_MODEL
    except SoundsiftError as exc:
        return str(exc)
    return ""


def model_title(model: str) -> str:
    """How the main window names the model in use: 'default', an installed name, or a folder's name."""
    return Path(model).name if "/" in model or "\\" in model else model


def model_description(model: str) -> str:
    """Where the model lives and what its config says it is ('' parts left out; problems say so)."""
    try:
        folder = resolve_model(None if model == DEFAULT_MODEL else model)
        description = read_config(folder).description
    except SoundsiftError:
        return model_problem(model)
    return f"{description}\n{folder}" if description else str(folder)
