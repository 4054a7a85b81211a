"""Preset files: TOML with ``format = 1``, holding either a query preset or a chain preset.

Top-level keys: ``format``; optional ``name`` (display name; the file name when left out)
and ``description``; then either ``queries`` (with ``mode``; see :mod:`soundsift.presets.query`)
or ``stages`` (a chain; see :mod:`soundsift.presets.chains`).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from soundsift.errors import PresetError
from soundsift.plugin_host import Chain
from soundsift.presets.chains import stages_from_list, stages_to_list
from soundsift.presets.query import QueryPreset, query_preset_from_dict, query_preset_to_dict
from soundsift.presets.values import MAX_NESTING, check_nesting, check_value
from soundsift.publishing import write_text_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FORMAT = 1
BUILTIN_DIR = Path(__file__).resolve().parent
COMMON_KEYS = ("format", "name", "description")
QUERY_KEYS = ("queries", "mode")
CHAIN_KEYS = ("stages",)
QUERY = "query"
CHAIN = "chain"


@dataclass(frozen=True)
class Preset:
    """A validated preset file: a query preset (``query`` set) or a chain preset (``chain`` set)."""

    name: str
    description: str
    query: QueryPreset | None = None
    chain: Chain | None = None

    @property
    def kind(self) -> str:
        """'query' or 'chain'."""
        return QUERY if self.query is not None else CHAIN

    def to_chain(self) -> Chain:
        """The preset as a chain: a query preset becomes one StemChains stage on the default model."""
        if self.chain is not None:
            return self.chain
        assert self.query is not None
        return Chain([self.query.to_chain()])

    def to_dict(self) -> dict[str, Any]:
        """The table a file of this preset holds (files of a chain saved as absolute paths)."""
        if self.query is not None:
            return {"format": FORMAT, **query_preset_to_dict(self.query)}
        assert self.chain is not None
        return preset_to_dict(self.chain, self.name, self.description)


def builtin_presets() -> dict[str, Path]:
    """The presets that ship with soundsift, by name (file name without ``.toml``)."""
    return {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.toml"))}


def preset_to_dict(chain: Chain | Sequence[Any], name: str | None = None, description: str = "") -> dict[str, Any]:
    """A chain (or a list of processors) as the table a preset file holds."""
    table: dict[str, Any] = {"format": FORMAT}
    if name:
        table["name"] = name
    if description:
        table["description"] = description
    table["stages"] = stages_to_list(chain, "stages")
    return table


def parse_preset(data: Mapping[str, Any], source: str = "preset", base: Path | None = None,
                 default_name: str = "preset") -> Preset:
    """Validate a preset table of either kind; errors name ``source`` and the entry at fault."""
    check_nesting(data, source)
    version = data.get("format")
    if version != FORMAT:
        raise PresetError(f"{source}: expected format = {FORMAT}, got {version!r}")
    known = COMMON_KEYS + QUERY_KEYS + CHAIN_KEYS
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise PresetError(f"{source}: unknown top-level key {unknown[0]!r} (a preset holds format, name, description, "
                          "and either queries with mode, or stages)")
    name = check_value(data.get("name", default_name), str, f"{source}: name").strip()
    if not name:
        raise PresetError(f"{source}: name is blank")
    description = check_value(data.get("description", ""), str, f"{source}: description")
    if "queries" in data and "stages" in data:
        raise PresetError(f"{source}: holds both queries and stages; a preset is either a query preset or a chain")
    if "queries" in data:
        return Preset(name, description, query=query_preset_from_dict(data, name, source))
    if "mode" in data:
        raise PresetError(f"{source}: mode belongs to a query preset, which needs queries = [...]")
    if "stages" not in data:
        raise PresetError(f"{source}: no queries and no stages; a preset holds queries = [...] or [[stages]] tables")
    return Preset(name, description, chain=Chain(stages_from_list(data["stages"], f"{source}: stages", base)))


def preset_from_dict(data: Mapping[str, Any], source: str = "preset", base: Path | None = None) -> Chain:
    """The chain a preset table describes (a query preset as its StemChains remix)."""
    return parse_preset(data, source, base).to_chain()


def read_preset_file(path: Path) -> Preset:
    """Read and validate one preset file; its name defaults to the file name."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"{path}: no such preset file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read the preset ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise PresetError(f"{path}: nested too deeply to read (a preset holds at most {MAX_NESTING} levels)") from None
    return parse_preset(data, str(path), path.parent, path.stem)


def save_preset(chain: Chain | Sequence[Any], path: str | Path, name: str | None = None, description: str = "") -> Path:
    """Write a chain and all its parameters to a TOML preset, atomically; returns the path."""
    return write_text_atomic(Path(path), tomli_w.dumps(preset_to_dict(chain, name, description)))


def load_preset(name_or_path: str | Path) -> Chain:
    """Load any preset as a chain: a file, or a user or built-in preset by name (see :mod:`soundsift.presets.catalog`)."""
    from soundsift.presets.catalog import read_preset

    return read_preset(name_or_path).to_chain()
