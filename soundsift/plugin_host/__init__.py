"""Pedalboard plugin host: the separator as an effect in audio chains (docs/plugin_host.md).

Pedalboard cannot run Python-defined plugins inside its native chain, so this package
offers processors shaped like Pedalboard plugins (``process``/``__call__``/``reset``, the
same array layouts, ``reset=False`` streaming) and containers that mix them freely with
Pedalboard's own plugins: :class:`TextSeparate`, :class:`Chain`, :class:`Mix` and
:class:`StemChains`.  :func:`process_file` streams a file through any of them, and
:func:`load_plugin` loads VST3/AU plugins so that presets can save them.
"""
from __future__ import annotations

from soundsift.plugin_host.chain import Chain, Processor
from soundsift.plugin_host.external import PluginOrigin, load_plugin, plugin_origin
from soundsift.plugin_host.files import process_file
from soundsift.plugin_host.mix import Mix
from soundsift.plugin_host.separating import SeparatingStage
from soundsift.plugin_host.stage import Stage, walk
from soundsift.plugin_host.stems import StemChains
from soundsift.plugin_host.text_separate import TextSeparate

__all__ = [
    "Chain",
    "Mix",
    "PluginOrigin",
    "Processor",
    "SeparatingStage",
    "Stage",
    "StemChains",
    "TextSeparate",
    "load_plugin",
    "plugin_origin",
    "process_file",
    "walk",
]
