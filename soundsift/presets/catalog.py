"""Where presets live, and finding, importing and exporting them by name.

Built-in presets ship inside the package; user presets live in the platform's config
folder (``platformdirs.user_config_dir("soundsift")/presets``, or ``$SOUNDSIFT_PRESETS``).
A user preset shadows a built-in one of the same name.  A preset is named by its file name
without ``.toml`` (``rain-and-wind``) or, case-insensitively, by its display name
(``Rain and wind``).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import tomli_w

from soundsift.errors import PresetError
from soundsift.presets.files import Preset, builtin_presets, read_preset_file, write_text_atomic

BUILTIN = "built-in"
USER = "user"


@dataclass(frozen=True)
class PresetEntry:
    """A preset file found under a name."""

    name: str
    path: Path
    origin: str

    def read(self) -> Preset:
        return read_preset_file(self.path)


def user_presets_dir() -> Path:
    """The folder of the user's own presets (``$SOUNDSIFT_PRESETS`` when set)."""
    env = os.environ.get("SOUNDSIFT_PRESETS")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("soundsift", appauthor=False)) / "presets"


def list_presets() -> list[PresetEntry]:
    """Every preset by name, user presets first; a user preset hides a built-in one of the same name."""
    entries: dict[str, PresetEntry] = {}
    folder = user_presets_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            entries[path.stem] = PresetEntry(path.stem, path, USER)
    for name, path in builtin_presets().items():
        entries.setdefault(name, PresetEntry(name, path, BUILTIN))
    return list(entries.values())


def slug(name: str) -> str:
    """A preset's file name from its display name: 'Remove the crowd!' -> 'remove-the-crowd'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def find_preset(name: str) -> PresetEntry:
    """The preset called ``name`` (file name, or display name in any case)."""
    entries = list_presets()
    for entry in entries:
        if entry.name == name or entry.name == slug(name):
            return entry
    for entry in entries:
        try:
            title = entry.read().name
        except PresetError:
            continue
        if title.casefold() == name.strip().casefold():
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise PresetError(f"no preset named '{name}' (presets: {known}; or give a .toml file)")


def read_preset(name_or_path: str | Path) -> Preset:
    """A preset file (any path that exists or ends in .toml), else a user or built-in preset by name."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_file() or text.endswith(".toml") or os.sep in text:
        if not path.is_file():
            known = ", ".join(e.name for e in list_presets()) or "none"
            raise PresetError(f"{path}: no such preset file (preset names: {known})")
        return read_preset_file(path)
    return find_preset(text).read()


def export_preset(name_or_path: str | Path, destination: str | Path, overwrite: bool = False) -> Path:
    """Write a preset, validated and with every file path absolute, to ``destination`` (a .toml file)."""
    destination = Path(destination).expanduser()
    if destination.suffix != ".toml":
        raise PresetError(f"{destination}: a preset file must end in .toml")
    preset = read_preset(name_or_path)
    if destination.exists() and not overwrite:
        raise PresetError(f"{destination}: already exists (pass --force to replace it)")
    return write_text_atomic(destination, tomli_w.dumps(preset.to_dict()))


def import_preset(source: str | Path, name: str | None = None, overwrite: bool = False) -> PresetEntry:
    """Validate a preset file and save it among the user's presets.

    ``name`` (default: the file's name) becomes its display name too, and its file name as a slug.
    """
    source = Path(source).expanduser()
    preset = read_preset_file(source)
    if name:
        query = preset.query and dataclasses.replace(preset.query, name=name)
        preset = dataclasses.replace(preset, name=name, query=query)
    target_name = slug(name or source.stem)
    if not target_name:
        raise PresetError(f"'{name or source.stem}' gives no usable preset file name; pass --name")
    target = user_presets_dir() / f"{target_name}.toml"
    if target.exists() and not overwrite:
        raise PresetError(f"a user preset named '{target_name}' exists ({target}); pass --force to replace it")
    write_text_atomic(target, tomli_w.dumps(preset.to_dict()))
    return PresetEntry(target_name, target, USER)
