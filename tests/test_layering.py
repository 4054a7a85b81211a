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
    result = subprocess.run([sys.executable, "-c", BLOCK], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


HEAVY = """
import sys
from soundsift.cli import build_parser
build_parser()
heavy = [m for m in ("music21", "pretty_midi", "fluidsynth", "mir_eval", "matplotlib", "laion_clap", "PyQt6")
         if m in sys.modules]
loaded = [m for m in sys.modules if m.startswith("soundsift.training.") and not m.endswith(("cli", "manifest", "build"))
          and m not in ("soundsift.training.data", "soundsift.training.clap", "soundsift.training.finetune")]
print(heavy, loaded)
"""


def test_the_command_line_loads_no_training_stack_until_a_training_command_runs():
    result = subprocess.run([sys.executable, "-c", HEAVY], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"
