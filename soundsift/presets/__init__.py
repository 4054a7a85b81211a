"""Chain presets: processor trees with all their parameters as TOML files, and the built-in presets.

A preset holds ``format = 1`` and an array of ``[[stages]]`` tables, each with a ``type``
(``TextSeparate``, ``Chain``, ``Mix``, ``StemChains``, a Pedalboard built-in such as
``Reverb``, or ``external`` for a VST3/AU file) and that processor's parameters.
"""
from __future__ import annotations

from soundsift.presets.chains import from_dict, to_dict
from soundsift.presets.files import builtin_presets, load_preset, preset_from_dict, preset_to_dict, save_preset

__all__ = ["builtin_presets", "from_dict", "load_preset", "preset_from_dict", "preset_to_dict", "save_preset", "to_dict"]
