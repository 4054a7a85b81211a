"""Turn the user's model choice into a loaded Separator, with messages a person can act on."""
from __future__ import annotations

import inspect

from soundsift.errors import InvalidArgumentError, NoDefaultModelError, SoundsiftError
from soundsift.gui.jobs import ModelChoice
from soundsift.gui.settings import DEFAULT_MODEL
from soundsift.model import read_config
from soundsift.model.store import resolve_model
from soundsift.separator import Separator

NO_DEFAULT_MODEL = (
    "No default model is installed yet. Open Settings (Ctrl+,) and choose a model folder "
    "or an installed model."
)


def engine_selectable() -> bool:
    """True when this build's ``Separator.load`` takes an ``engine`` argument (torch or ONNX Runtime)."""
    return "engine" in inspect.signature(Separator.load).parameters


def load_separator(choice: ModelChoice) -> Separator:
    """Load the chosen model on the chosen device and engine; raises SoundsiftError with a one-line message."""
    kwargs: dict[str, str] = {}
    if engine_selectable():
        kwargs["engine"] = choice.engine
    elif choice.engine != "auto":
        raise InvalidArgumentError(f"this soundsift cannot choose the '{choice.engine}' engine; set Engine to auto")
    name = None if choice.model == DEFAULT_MODEL else choice.model
    try:
        return Separator.load(name, device=choice.device, **kwargs)
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
