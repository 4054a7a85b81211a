"""Chain presets as TOML files: save, load, and the presets that ship with soundsift."""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from soundsift.errors import PresetError
from soundsift.plugin_host import Chain
from soundsift.presets.chains import stages_from_list, stages_to_list

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FORMAT = 1
BUILTIN_DIR = Path(__file__).resolve().parent


def builtin_presets() -> dict[str, Path]:
    """The presets that ship with soundsift, by name (file name without ``.toml``)."""
    return {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.toml"))}


def preset_to_dict(chain: Chain | Sequence[Any]) -> dict[str, Any]:
    """A chain (or a list of processors) as the table a preset file holds."""
    return {"format": FORMAT, "stages": stages_to_list(chain, "stages")}


def preset_from_dict(data: dict[str, Any], source: str = "preset", base: Path | None = None) -> Chain:
    """The chain a preset table describes; errors name ``source`` and the stage."""
    version = data.get("format")
    if version != FORMAT:
        raise PresetError(f"{source}: expected format = {FORMAT}, got {version!r}")
    unknown = sorted(set(data) - {"format", "stages"})
    if unknown:
        raise PresetError(f"{source}: unknown top-level key {unknown[0]!r} (a preset holds format and stages)")
    return Chain(stages_from_list(data.get("stages", []), f"{source}: stages", base))


def save_preset(chain: Chain | Sequence[Any], path: str | Path) -> Path:
    """Write a chain and all its parameters to a TOML preset, atomically; returns the path."""
    path = Path(path)
    text = tomli_w.dumps(preset_to_dict(chain))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_preset(name_or_path: str | Path) -> Chain:
    """Load a preset file, or a preset that ships with soundsift by name (see :func:`builtin_presets`)."""
    path = Path(name_or_path).expanduser()
    builtin = builtin_presets().get(str(name_or_path))
    if not path.exists() and builtin is not None:
        path = builtin
    if not path.is_file():
        known = ", ".join(builtin_presets()) or "none"
        raise PresetError(f"{path}: no such preset file (built-in presets: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read the preset ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML ({exc})") from None
    return preset_from_dict(data, str(path), path.parent)
