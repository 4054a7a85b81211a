"""Where the built-in training recipes live and what they are called (torch-free, for the CLI's help)."""
from __future__ import annotations

from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent / "recipes"


def builtin_recipes() -> list[str]:
    """Names of the recipes shipped with soundsift: one per training regime, plus the bundled models' recipes."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))
