"""A generated "personal library" (:mod:`soundsift.training.finetune.demo`) and a tiny base model for the
fine-tuning tests."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.model import init_model, save_checkpoint
from soundsift.training.finetune.demo import make_library
from tests.conftest import TINY

__all__ = ["block_train_extra", "make_compact_base", "make_library", "tree_hashes"]

TRAIN_EXTRA_MODULES = ("mir_eval", "mir_eval.separation", "scipy", "scipy.signal", "matplotlib", "mutagen")


def make_compact_base(directory: Path, seed: int = 0) -> Path:
    """A tiny, untrained separator with the compact CLAP encoder (it has the audio tower the weak losses need)."""
    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact"), description="tiny base"),
                          seed=seed)
    return save_checkpoint(directory, net, enc)


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 and mode of every file under ``root`` (and the list of names), to prove nothing changed."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + f" {p.stat().st_mode:o}"
            for p in sorted(root.rglob("*")) if p.is_file()} | {"folders": " ".join(
                sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()))}


def block_train_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the train extra's modules unimportable, as on an install without it, and forget the soundsift
    modules that may have imported them already (monkeypatch puts everything back after the test)."""
    for name in [n for n in sys.modules if n.startswith(("soundsift.training", "soundsift.gui.finetune"))]:
        monkeypatch.delitem(sys.modules, name)
    for name in TRAIN_EXTRA_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
