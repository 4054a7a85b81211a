"""What the presets offer the query bar: their queries for the completer, and the query presets for the menu."""
from __future__ import annotations

from soundsift.errors import SoundsiftError
from soundsift.plugin_host import StemChains, TextSeparate, walk
from soundsift.presets import Preset, QueryPreset, list_presets


def load_presets() -> list[Preset]:
    """Every preset that loads (user presets first, as ``soundsift presets list`` orders them); broken ones skipped."""
    presets = []
    for entry in list_presets():
        try:
            presets.append(entry.read())
        except SoundsiftError:
            continue
    return presets


def query_presets(presets: list[Preset] | None = None) -> list[QueryPreset]:
    """The query presets among ``presets`` (default: all that load)."""
    return [p.query for p in (load_presets() if presets is None else presets) if p.query is not None]


def preset_queries(presets: list[Preset] | None = None) -> list[str]:
    """Every query a preset separates, query presets and chains alike, in preset order, without repeats."""
    queries: list[str] = []
    for preset in load_presets() if presets is None else presets:
        if preset.query is not None:
            queries.extend(preset.query.queries)
            continue
        for stage in walk(preset.to_chain()):
            if isinstance(stage, TextSeparate):
                queries.append(stage.query)
            elif isinstance(stage, StemChains):
                queries.extend(stage.stems)
    return list(dict.fromkeys(queries))
