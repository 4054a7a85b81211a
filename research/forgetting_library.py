"""The real-recording library that ``python -m research forgetting`` fine-tunes on (docs/finetuning.md).

Seeded picks from two packages none of the training corpora read: sound effects of Battle for Wesnoth from
the unpacked Debian package (captioned by file name) and Dutch voice lines of Fish Fillets from the
``realspeech`` corpus (each with a sidecar caption).  Built in a staging folder and renamed into place, so a
library folder that exists is complete.
"""
from __future__ import annotations

import json
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from soundsift.errors import SoundsiftError


@dataclass(frozen=True)
class LibraryRecipe:
    """Where the library's files come from and how many of each are picked."""

    debian: Path = Path("data/cache/debian")
    realspeech: Path = Path("data/realspeech")
    sfx_package: str = "wesnoth-1.16-data"
    voice_package: str = "fillets-ng-data-nl"
    sfx: int = 24
    voices: int = 29
    voice_caption: str = "a man speaking"
    seed: int = 0

    @property
    def packages(self) -> tuple[str, str]:
        """The packages the library's files come from (the real test sets' mixtures of these are excluded)."""
        return self.voice_package, self.sfx_package


def build_library(out: Path, recipe: LibraryRecipe = LibraryRecipe()) -> bool:
    """Write the library to ``out`` (``sfx/`` and ``voices/``); False when ``out`` is already there."""
    if out.exists():
        return False
    sounds, clips = _sound_effects(recipe), _voice_lines(recipe)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / "sfx").mkdir()
        (staging / "voices").mkdir()
        for path in sounds:
            shutil.copy(path, staging / "sfx")
        for path in clips:
            shutil.copy(path, staging / "voices")
            (staging / "voices" / f"{path.stem}.txt").write_text(f"{recipe.voice_caption}\n")
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _sound_effects(recipe: LibraryRecipe) -> list[Path]:
    """The seeded pick of the package's ``sounds/*.ogg`` files."""
    folder = recipe.debian / recipe.sfx_package
    sounds = sorted(folder.rglob("sounds/*.ogg"))
    if len(sounds) < recipe.sfx:
        raise SoundsiftError(f"{folder}: {len(sounds)} sounds/*.ogg files, {recipe.sfx} needed "
                             f"(unpack the {recipe.sfx_package} package there first)")
    random.Random(recipe.seed).shuffle(sounds)
    return sounds[:recipe.sfx]


def _voice_lines(recipe: LibraryRecipe) -> list[Path]:
    """The seeded pick of the corpus's clips from the voice package."""
    manifest = recipe.realspeech / "manifest.jsonl"
    try:
        clips = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise SoundsiftError(f"{manifest}: cannot read the realspeech corpus's manifest ({exc})") from None
    clips = [c for c in clips if c.get("source") == recipe.voice_package]
    if len(clips) < recipe.voices:
        raise SoundsiftError(f"{manifest}: {len(clips)} clips of {recipe.voice_package}, {recipe.voices} needed")
    random.Random(recipe.seed).shuffle(clips)
    return [recipe.realspeech / c["path"] for c in clips[:recipe.voices]]
