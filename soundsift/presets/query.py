"""Query presets: a named set of text queries, extract or remove, with a level for each sound.

In a preset file (``format = 1``)::

    name = "Dialogue"
    description = "Both voices, everything else dropped"
    mode = "extract"                      # or "remove"
    queries = ["a man speaking", { query = "a woman speaking", gain_db = -3.0 }]

``gain_db`` is the level of that query's sound in the result, relative to the input; left
out it is 0 dB in extract mode and ``-inf`` (gone) in remove mode, so a remove preset with
``gain_db = -12.0`` ducks the sound instead of taking it out.  The same preset means the same
thing in ``soundsift separate`` (one file per query), in a chain (:meth:`QueryPreset.to_chain`:
one signal) and in the desktop app.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import InvalidArgumentError, PresetError
from soundsift.presets.values import check_keys, check_value
from soundsift.separation import MODES, REST, check_gain_db, check_queries

QUERY_ITEM = {"query": str, "gain_db": float}


@dataclass(frozen=True)
class QueryItem:
    """One query and its level in the result (None: the mode's default)."""

    query: str
    gain_db: float | None = None


@dataclass(frozen=True)
class QueryPreset:
    """A validated query preset; ``name`` is its display name ("Rain and wind")."""

    name: str
    items: tuple[QueryItem, ...]
    mode: str = "extract"
    description: str = ""

    @property
    def queries(self) -> list[str]:
        """The query texts, in preset order."""
        return [item.query for item in self.items]

    @property
    def gain_db(self) -> dict[str, float]:
        """The levels the preset sets explicitly, by query (others take the mode's default)."""
        return {item.query: item.gain_db for item in self.items if item.gain_db is not None}

    def level_db(self, query: str) -> float:
        """The level of ``query``'s sound in the result: its gain, or the mode's default."""
        gains = self.gain_db
        if query in gains:
            return gains[query]
        return 0.0 if self.mode == "extract" else -math.inf

    def to_chain(self, model: str = DEFAULT_MODEL, engine: str = "auto", device: str = "auto") -> Any:
        """The preset as one plugin-host processor: a :class:`~soundsift.plugin_host.StemChains` remix.

        Extract keeps only the queried sounds (the rest muted); remove keeps the rest and puts
        each queried sound at its level (gone by default).
        """
        from soundsift.plugin_host import StemChains  # lazily: the separate path needs no Pedalboard host

        gains = {q: self.level_db(q) for q in self.queries}
        gains[REST] = -math.inf if self.mode == "extract" else 0.0
        return StemChains({q: [] for q in self.queries}, gain_db=gains, model=model, engine=engine, device=device)


def check_gain(value: Any, where: str) -> float:
    """A gain in dB from a preset: -120 to +24 dB, or -inf for silence (as :func:`check_gain_db`)."""
    try:
        return check_gain_db(check_value(value, float, where), where)
    except InvalidArgumentError as exc:
        raise PresetError(str(exc)) from None


def query_preset_from_dict(data: Mapping[str, Any], name: str, where: str) -> QueryPreset:
    """The query preset of a file's top-level table (``format`` already checked)."""
    mode = check_value(data.get("mode", "extract"), str, f"{where}: mode")
    if mode not in MODES:
        raise PresetError(f"{where}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    raw = check_value(data["queries"], list, f"{where}: queries")
    if not raw:
        raise PresetError(f"{where}: queries is empty; give at least one query, e.g. queries = [\"a violin\"]")
    items = [_item(entry, f"{where}: queries[{i}]") for i, entry in enumerate(raw)]
    try:
        check_queries([item.query for item in items])
    except InvalidArgumentError as exc:
        raise PresetError(f"{where}: queries: {exc}") from None
    description = check_value(data.get("description", ""), str, f"{where}: description")
    return QueryPreset(name, tuple(items), mode, description)


def query_preset_to_dict(preset: QueryPreset) -> dict[str, Any]:
    """The table a preset file holds for ``preset`` (queries without a gain stay plain text)."""
    table: dict[str, Any] = {"name": preset.name}
    if preset.description:
        table["description"] = preset.description
    table["mode"] = preset.mode
    table["queries"] = [item.query if item.gain_db is None else {"query": item.query, "gain_db": item.gain_db}
                        for item in preset.items]
    return table


def _item(entry: Any, where: str) -> QueryItem:
    if isinstance(entry, str):
        entry = {"query": entry}
    if not isinstance(entry, dict):
        raise PresetError(f"{where} must be text or a table with query and gain_db, got {entry!r}")
    fields = check_keys(entry, QUERY_ITEM, where, ("query",))
    query = fields["query"].strip()
    if not query:
        raise PresetError(f"{where}: query is blank")
    gain = check_gain(fields["gain_db"], f"{where}: gain_db") if "gain_db" in fields else None
    return QueryItem(query, gain)
