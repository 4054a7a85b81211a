"""The runtime path never imports the shells or training code (DESIGN.md §1)."""
from __future__ import annotations

import subprocess
import sys

BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PyQt6", "PySide6"} or name.startswith(("soundsift.gui", "soundsift.training",
                                                                          "soundsift.plugin_host")):
            raise ImportError(f"layering violation: {name} imported")
        return None
sys.meta_path.insert(0, Block())
import soundsift, soundsift.model, soundsift.separator, soundsift.batch, soundsift.audio
print("ok")
"""


def test_engine_imports_without_gui_or_training():
    result = subprocess.run([sys.executable, "-c", BLOCK], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
