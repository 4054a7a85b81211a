"""Presets: query presets and chain presets as TOML files, built in or the user's own.

A query preset names text queries, extract or remove, and a level per sound
(:mod:`soundsift.presets.query`); a chain preset holds a processor tree with all its
parameters: an array of ``[[stages]]`` tables, each with a ``type`` (``TextSeparate``,
``Chain``, ``Mix``, ``StemChains``, a Pedalboard built-in such as ``Reverb``, or ``external``
for a VST3/AU file) and that processor's parameters.  Both load by name from the user's
preset folder or the package (:mod:`soundsift.presets.catalog`), or from any file.
"""
from __future__ import annotations

from soundsift.presets.catalog import (
    PresetEntry,
    export_preset,
    find_preset,
    import_preset,
    list_presets,
    read_preset,
    user_presets_dir,
)
from soundsift.presets.chains import from_dict, to_dict
from soundsift.presets.files import (
    Preset,
    builtin_presets,
    load_preset,
    parse_preset,
    preset_from_dict,
    preset_to_dict,
    save_preset,
)
from soundsift.presets.query import QueryItem, QueryPreset

__all__ = [
    "Preset",
    "PresetEntry",
    "QueryItem",
    "QueryPreset",
    "builtin_presets",
    "export_preset",
    "find_preset",
    "from_dict",
    "import_preset",
    "list_presets",
    "load_preset",
    "parse_preset",
    "preset_from_dict",
    "preset_to_dict",
    "read_preset",
    "save_preset",
    "to_dict",
    "user_presets_dir",
]
