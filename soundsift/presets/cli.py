"""``soundsift presets list|show|export|import``, and ``--preset`` for ``separate`` and ``process``."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from soundsift.errors import PresetError


def add_presets_parser(sub: argparse._SubParsersAction) -> None:
    """The ``presets`` command and its actions."""
    p = sub.add_parser("presets", help="list, show, export and import query and chain presets")
    psub = p.add_subparsers(dest="presets_command", required=True, metavar="ACTION")
    psub.add_parser("list", help="list the built-in and user presets").set_defaults(handler=run_list)
    show = psub.add_parser("show", help="print a preset file")
    show.add_argument("name", metavar="NAME", help="preset name (e.g. dialogue or 'Rain and wind') or .toml file")
    show.set_defaults(handler=run_show)
    export = psub.add_parser("export", help="write a preset to a .toml file (validated, paths made absolute)")
    export.add_argument("name", metavar="NAME", help="preset name or .toml file")
    export.add_argument("output", type=Path, metavar="FILE", help="the .toml file to write")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.set_defaults(handler=run_export)
    imp = psub.add_parser("import", help="validate a preset file and add it to your presets")
    imp.add_argument("file", type=Path, metavar="FILE", help="a preset .toml file")
    imp.add_argument("--name", default=None, help="save it under this name (default: the file's name)")
    imp.add_argument("--force", action="store_true", help="replace a user preset of the same name")
    imp.set_defaults(handler=run_import)


def run_list(args: argparse.Namespace) -> int:
    from soundsift.presets.catalog import list_presets, user_presets_dir

    entries = list_presets()
    width = max((len(e.name) for e in entries), default=0)
    for entry in entries:
        try:
            preset = entry.read()
            detail = f"{preset.kind:<5}  {preset.name}" + (f": {preset.description}" if preset.description else "")
        except PresetError as exc:
            detail = f"(invalid: {exc})"
        print(f"{entry.name:<{width}}  {entry.origin:<8}  {detail}")
    print(f"user presets folder: {user_presets_dir()}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from soundsift.presets.catalog import find_preset, read_preset

    preset = read_preset(args.name)  # validates first: show only presets that load
    path = Path(args.name).expanduser()
    origin = "file"
    if not path.is_file():
        entry = find_preset(args.name)
        path, origin = entry.path, entry.origin
    print(f"# {preset.name} ({preset.kind} preset, {origin}): {path}")
    print(path.read_text(encoding="utf-8"), end="")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from soundsift.presets.catalog import export_preset

    written = export_preset(args.name, args.output, overwrite=args.force)
    print(f"wrote {written}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from soundsift.presets.catalog import import_preset

    entry = import_preset(args.file, args.name, overwrite=args.force)
    print(f"imported '{entry.name}' to {entry.path}")
    return 0


@dataclass(frozen=True)
class QueryRequest:
    """What ``separate`` runs: queries, mode and levels from ``-q``, ``--mode`` and ``--preset``."""

    queries: list[str]
    mode: str
    gain_db: dict[str, float] = field(default_factory=dict)


def separate_request(queries: Sequence[str] | None, mode: str | None, preset_name: str | None) -> QueryRequest:
    """Combine ``-q``/``--mode`` with a query preset.

    The preset's queries come first, then extra ``-q`` queries; ``--mode`` overrides the
    preset's mode, and the preset's levels apply only in the preset's own mode.
    """
    extra = list(queries or [])
    if preset_name is None:
        if not extra:
            raise PresetError("give at least one query (-q QUERY) or a query preset (--preset NAME)")
        return QueryRequest(extra, mode or "extract")
    from soundsift.presets.catalog import read_preset

    preset = read_preset(preset_name)
    if preset.query is None:
        raise PresetError(f"'{preset_name}' is a chain preset; run it with: soundsift process INPUT --preset "
                          f"{preset_name} -o OUT")
    chosen = mode or preset.query.mode
    gains = preset.query.gain_db if chosen == preset.query.mode else {}
    return QueryRequest(list(dict.fromkeys([*preset.query.queries, *extra])), chosen, dict(gains))
