"""Pedalboard's own plugins in presets: built-in effects by class name, VST3/AU plugins by file."""
from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pedalboard
from pedalboard.io import AudioFile

from soundsift.errors import PresetError
from soundsift.plugin_host.external import load_plugin, plugin_origin
from soundsift.presets.values import check_keys, check_value, local_path, plain

EXTERNAL = "external"
NOT_EFFECTS = {"Plugin", "PluginContainer", "ExternalPlugin", "VST3Plugin", "AudioUnitPlugin", "IIRFilter",
               "Pedalboard", "Chain", "Mix"}
CONSTRUCTOR_ONLY = {"Convolution": {"impulse_response_filename": str}}
"""Parameters that a built-in takes only when it is made (read-only afterwards)."""
FILE_PARAMETERS = {"impulse_response_filename"}


def builtin_effects() -> dict[str, type]:
    """Pedalboard's built-in effect classes by name (those of the installed Pedalboard)."""
    return {
        name: cls for name, cls in vars(pedalboard).items()
        if inspect.isclass(cls) and issubclass(cls, pedalboard.Plugin) and not name.startswith("_")
        and name not in NOT_EFFECTS
    }


def parameter_names(cls: type) -> list[str]:
    """A built-in's settable parameters, in declaration order, constructor-only ones first."""
    names = list(CONSTRUCTOR_ONLY.get(cls.__name__, {}))
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            if isinstance(member, property) and member.fset is not None and name not in names:
                names.append(name)
    return names


def native_to_dict(plugin: Any, where: str) -> dict[str, Any]:
    """A built-in effect or a plugin loaded with :func:`soundsift.plugin_host.load_plugin` as a preset table."""
    origin = plugin_origin(plugin)
    if origin is not None:
        table: dict[str, Any] = {"type": EXTERNAL, "path": origin.path}
        if origin.plugin_name is not None:
            table["plugin_name"] = origin.plugin_name
        table["parameters"] = {name: plain(getattr(plugin, name), f"{where}: {name}") for name in plugin.parameters}
        return table
    name = type(plugin).__name__
    if builtin_effects().get(name) is not type(plugin):
        raise PresetError(
            f"{where}: cannot save {name}; presets hold Pedalboard's built-in effects, soundsift stages, and "
            "VST3/AU plugins loaded with soundsift.plugin_host.load_plugin"
        )
    table = {"type": name}
    for param in parameter_names(type(plugin)):
        value = getattr(plugin, param)
        if value is None:
            raise PresetError(f"{where}: {name} has no {param} to save (load its impulse response from a file)")
        if param in FILE_PARAMETERS:
            value = str(Path(value).expanduser().resolve())
        table[param] = plain(value, f"{where}: {name}.{param}")
    return table


def native_from_dict(table: Mapping[str, Any], where: str, base: Path | None) -> pedalboard.Plugin:
    """Make the Pedalboard plugin a preset table describes (``type`` is a built-in name or 'external')."""
    kind = table["type"]
    params = {k: v for k, v in table.items() if k != "type"}
    if kind == EXTERNAL:
        return _external_from_dict(params, where, base)
    cls = builtin_effects().get(kind)
    if cls is None:
        raise PresetError(f"{where}: unknown plugin type {kind!r}")
    where = f"{where} ({kind})"
    ctor_types = CONSTRUCTOR_ONLY.get(kind, {})
    known = parameter_names(cls)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise PresetError(f"{where}: unknown parameter {unknown[0]!r}; known parameters: {', '.join(known) or 'none'}")
    ctor = {k: check_value(params.pop(k), t, f"{where}: parameter {k!r}") for k, t in ctor_types.items() if k in params}
    ctor = {k: local_path(v, base) if k in FILE_PARAMETERS else v for k, v in ctor.items()}
    for k in FILE_PARAMETERS & set(ctor):
        check_audio_file(ctor[k], f"{where}: parameter {k!r}")
    try:
        plugin = cls(**ctor)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PresetError(f"{where}: cannot create the plugin: {exc}") from None
    for name, value in params.items():
        setattr_checked(plugin, name, value, f"{where}: parameter {name!r}")
    return plugin


def setattr_checked(plugin: pedalboard.Plugin, name: str, value: Any, where: str) -> None:
    """Set a built-in's parameter to a preset value of the type its current value has."""
    current = getattr(plugin, name)
    members = getattr(type(current), "__members__", None)
    if members is not None:
        if not isinstance(value, str) or value not in members:
            raise PresetError(f"{where} must be one of {', '.join(members)}, got {value!r}")
        value = members[value]
    else:
        value = check_value(value, float if isinstance(current, (int, float)) and not isinstance(current, bool)
                            else type(current), where)
        if isinstance(value, float) and not math.isfinite(value):
            raise PresetError(f"{where} must be a finite number, got {value!r}")
    try:
        setattr(plugin, name, value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PresetError(f"{where}: {value!r} is not accepted ({exc})") from None


def check_audio_file(path: str, where: str) -> None:
    """Refuse a file that Pedalboard cannot decode as audio (Convolution would silently pass the input through)."""
    if not Path(path).is_file():
        raise PresetError(f"{where}: {path}: no such file")
    try:
        with AudioFile(path) as f:
            frames = f.frames
    except (ValueError, RuntimeError, OSError) as exc:
        raise PresetError(f"{where}: {path} is not a readable audio file ({exc})") from None
    if frames < 1:
        raise PresetError(f"{where}: {path} holds no audio (zero length)")


def _external_from_dict(params: dict[str, Any], where: str, base: Path | None) -> pedalboard.Plugin:
    fields = check_keys(params, {"path": str, "plugin_name": str, "parameters": dict}, f"{where} (external)", ("path",))
    for name, value in fields.get("parameters", {}).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise PresetError(f"{where} (external): parameter {name!r} must be a finite number, got {value!r}")
    path = Path(local_path(fields["path"], base))
    if not path.exists():
        raise PresetError(f"{where}: plugin file not found: {path}")
    try:
        return load_plugin(path, fields.get("parameters", {}), fields.get("plugin_name"))
    except (ImportError, ValueError, RuntimeError, TypeError, AttributeError) as exc:
        raise PresetError(f"{where}: cannot load plugin {path}: {exc}") from None
