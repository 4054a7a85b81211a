"""Queries offered by the query field's completer besides the user's history: those the presets separate."""
from __future__ import annotations

from soundsift.errors import SoundsiftError
from soundsift.plugin_host import StemChains, TextSeparate, walk
from soundsift.presets import builtin_presets, load_preset


def preset_queries() -> list[str]:
    """Every query a built-in chain preset separates, in preset order; a preset that fails to load is skipped."""
    queries: list[str] = []
    for name in builtin_presets():
        try:
            chain = load_preset(name)
        except SoundsiftError:
            continue
        for stage in walk(chain):
            if isinstance(stage, TextSeparate):
                queries.append(stage.query)
            elif isinstance(stage, StemChains):
                queries.extend(stage.stems)
    return list(dict.fromkeys(queries))
