"""Processor trees as preset tables: soundsift's stages, containers, and Pedalboard's plugins."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pedalboard

from soundsift.errors import PresetError, SoundsiftError
from soundsift.plugin_host import Chain, Mix, StemChains, TextSeparate
from soundsift.plugin_host.separating import SeparatingStage
from soundsift.presets.native import native_from_dict, native_to_dict
from soundsift.presets.values import check_keys, check_value, local_path
from soundsift.separation import REST

ENGINE_SETTINGS = {"model": str, "engine": str, "device": str, "segment_seconds": float, "overlap": float}
TEXT_SEPARATE = {"query": str, "mode": str, "gain_db": float, **ENGINE_SETTINGS}
STEM_CHAINS = {"stems": dict, "rest": dict, **ENGINE_SETTINGS}
STEM = {"gain_db": float, "stages": list}


def to_dict(processor: Any, where: str = "stage") -> dict[str, Any]:
    """Describe a processor, and everything inside it, as a TOML-ready table.

    Files (model directories given as paths, impulse responses, plugin files) are saved
    as absolute paths, so the table means the same from any folder.
    """
    if isinstance(processor, TextSeparate):
        if not isinstance(processor.query, str):
            raise PresetError(f"{where}: TextSeparate with an audio query ({processor.query.name!r}) cannot be saved "
                              "in a preset; presets hold text queries")
        return {"type": "TextSeparate", "query": processor.query, "mode": processor.mode,
                "gain_db": processor.gain_db, **_engine_settings(processor)}
    if isinstance(processor, StemChains):
        gains = processor.gain_db
        stems = {q: _stem(chain, gains.get(q, 0.0), f"{where}.stems.{q}") for q, chain in processor.stems.items()}
        return {"type": "StemChains", **_engine_settings(processor), "stems": stems,
                "rest": _stem(processor.rest, gains.get(REST, 0.0), f"{where}.rest")}
    if isinstance(processor, (Chain, pedalboard.Pedalboard, pedalboard.Chain)):
        return {"type": "Chain", "stages": stages_to_list(processor, f"{where}.stages")}
    if isinstance(processor, (Mix, pedalboard.Mix)):
        return {"type": "Mix", "branches": [to_dict(b, f"{where}.branches[{i}]") for i, b in enumerate(processor)]}
    if isinstance(processor, pedalboard.Plugin):
        return native_to_dict(processor, where)
    raise PresetError(f"{where}: cannot save a {type(processor).__name__}")


def stages_to_list(processors: Any, where: str) -> list[dict[str, Any]]:
    """Each processor of a sequence as a table."""
    return [to_dict(p, f"{where}[{i}]") for i, p in enumerate(processors)]


def from_dict(table: Any, where: str = "stage", base: Path | None = None) -> Any:
    """Make the processor a table describes; relative file paths are taken relative to ``base``."""
    table = check_value(table, dict, where)
    kind = table.get("type")
    if not isinstance(kind, str):
        raise PresetError(f"{where}: every stage needs a type = \"...\" naming its plugin")
    params = {k: v for k, v in table.items() if k != "type"}
    maker = _MAKERS.get(kind)
    if maker is None:
        return native_from_dict(table, where, base)
    try:
        return maker(params, f"{where} ({kind})", base)
    except PresetError:
        raise
    except SoundsiftError as exc:
        raise PresetError(f"{where} ({kind}): {exc}") from None


def stages_from_list(items: Any, where: str, base: Path | None) -> list[Any]:
    """The processors an array of tables describes."""
    items = check_value(items, list, where)
    return [from_dict(item, f"{where}[{i}]", base) for i, item in enumerate(items)]


def _engine_settings(stage: SeparatingStage) -> dict[str, Any]:
    model = stage.model
    if os.sep in model or model.startswith("."):
        model = str(Path(model).expanduser().resolve())
    return {"model": model, "engine": stage.engine, "device": stage.device,
            "segment_seconds": stage.segment_seconds, "overlap": stage.overlap}


def _stem(chain: Chain, gain_db: float, where: str) -> dict[str, Any]:
    return {"gain_db": gain_db, "stages": stages_to_list(chain, f"{where}.stages")}


def _model_path(params: dict[str, Any], base: Path | None) -> dict[str, Any]:
    """Model directories given relative to the preset (names stay names, as in resolve_model)."""
    model = params.get("model")
    if model is not None and (os.sep in model or model.startswith(".")):
        params["model"] = local_path(model, base)
    return params


def _text_separate(params: dict[str, Any], where: str, base: Path | None) -> TextSeparate:
    return TextSeparate(**_model_path(check_keys(params, TEXT_SEPARATE, where, ("query",)), base))


def _chain(params: dict[str, Any], where: str, base: Path | None) -> Chain:
    fields = check_keys(params, {"stages": list}, where)
    return Chain(stages_from_list(fields.get("stages", []), f"{where}.stages", base))


def _mix(params: dict[str, Any], where: str, base: Path | None) -> Mix:
    fields = check_keys(params, {"branches": list}, where)
    return Mix(stages_from_list(fields.get("branches", []), f"{where}.branches", base))


def _stem_chains(params: dict[str, Any], where: str, base: Path | None) -> StemChains:
    fields = _model_path(check_keys(params, STEM_CHAINS, where, ("stems",)), base)
    if REST in fields["stems"]:
        raise PresetError(f"{where}: '{REST}' is the residual stem; give its chain as the rest table")
    stems, gains = {}, {}
    for name, table in [*fields.pop("stems").items(), (REST, fields.pop("rest", {}))]:
        stem_where = f"{where}.rest" if name == REST else f"{where}.stems.{name}"
        stem = check_keys(check_value(table, dict, stem_where), STEM, stem_where)
        stems[name] = Chain(stages_from_list(stem.get("stages", []), f"{stem_where}.stages", base))
        gains[name] = stem.get("gain_db", 0.0)
    rest = stems.pop(REST)
    return StemChains(stems, rest=rest, gain_db=gains, **fields)


_MAKERS: dict[str, Callable[[dict[str, Any], str, Path | None], Any]] = {
    "TextSeparate": _text_separate,
    "Chain": _chain,
    "Mix": _mix,
    "StemChains": _stem_chains,
}
