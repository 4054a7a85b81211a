"""Where named models live, and how a name or a path becomes a model directory.

Search order for a name: the folder in ``$SOUNDSIFT_MODELS`` (if set), the user's model
folder (platform data dir, ``soundsift/models``), then the models bundled in the package.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from soundsift.core.config import ModelConfig
from soundsift.core.model_dir import CONFIG_FILE, read_config
from soundsift.errors import CheckpointError, NoDefaultModelError

DEFAULT_MODEL = "default"
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


@dataclass(frozen=True)
class ModelEntry:
    """A model directory found under a name."""

    name: str
    path: Path
    origin: str

    def config(self) -> ModelConfig:
        return read_config(self.path)


def search_dirs() -> list[tuple[str, Path]]:
    """(origin, folder) pairs searched for named models, in priority order."""
    dirs: list[tuple[str, Path]] = []
    env = os.environ.get("SOUNDSIFT_MODELS")
    if env:
        dirs.append(("SOUNDSIFT_MODELS", Path(env)))
    dirs.append(("user", user_models_dir()))
    dirs.append(("bundled", Path(os.environ.get("SOUNDSIFT_BUNDLED_MODELS", BUNDLED_DIR))))
    return dirs


def user_models_dir() -> Path:
    """The per-user folder where fine-tuned and installed models are kept."""
    return Path(platformdirs.user_data_dir("soundsift", appauthor=False)) / "models"


def list_models() -> list[ModelEntry]:
    """Every named model, first occurrence of each name winning."""
    seen: dict[str, ModelEntry] = {}
    for origin, folder in search_dirs():
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if (child / CONFIG_FILE).is_file() and child.name not in seen:
                seen[child.name] = ModelEntry(child.name, child, origin)
    return list(seen.values())


def resolve_model(name_or_path: str | Path | None) -> Path:
    """Turn a model name (or None for the default) or a directory path into a model directory."""
    name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    candidate = Path(name).expanduser()
    if candidate.exists() or os.sep in name or name.startswith("."):
        return candidate
    for entry in list_models():
        if entry.name == name:
            return entry.path
    if name == DEFAULT_MODEL:
        raise NoDefaultModelError(
            "no default model is installed; pass --model with a model directory or a name from "
            "'soundsift models list'"
        )
    known = ", ".join(e.name for e in list_models()) or "none installed"
    raise CheckpointError(f"unknown model '{name}' (known models: {known})")
