"""Loading VST3/AU plugins so that the host remembers their files (Pedalboard does not report them)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pedalboard


@dataclass(frozen=True)
class PluginOrigin:
    """Where a loaded plugin came from: enough to load it again."""

    path: str
    plugin_name: str | None


_ORIGINS: dict[int, tuple[object, PluginOrigin]] = {}


def load_plugin(
    path: str | Path, parameter_values: Mapping[str, object] | None = None, plugin_name: str | None = None
) -> pedalboard.Plugin:
    """:func:`pedalboard.load_plugin`, remembering the file so that a preset can save the plugin."""
    resolved = str(Path(path).expanduser().resolve())
    plugin = pedalboard.load_plugin(resolved, parameter_values=dict(parameter_values or {}), plugin_name=plugin_name)
    _ORIGINS[id(plugin)] = (plugin, PluginOrigin(resolved, plugin_name))
    return plugin


def plugin_origin(plugin: object) -> PluginOrigin | None:
    """The file a plugin was loaded from through :func:`load_plugin`, if it was."""
    entry = _ORIGINS.get(id(plugin))
    return entry[1] if entry is not None and entry[0] is plugin else None
