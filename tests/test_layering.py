"""Layering: the runtime path never imports the shells or training code, and each shell imports only
the shells docs/architecture.md allows (the product never imports the ``research`` lab)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELLS = ("soundsift.cli", "soundsift.gui", "soundsift.plugin_host", "soundsift.presets", "soundsift.speedbench",
          "soundsift.training", "research")
# shell -> the other shells it may import (every shell may import the core: audio, model, engines, ...);
# the same table as docs/architecture.md
ALLOWED = {
    "core": set(),
    "soundsift.plugin_host": set(),
    "soundsift.speedbench": set(),
    "soundsift.training": set(),
    "soundsift.presets": {"soundsift.plugin_host"},
    "soundsift.gui": {"soundsift.presets", "soundsift.plugin_host", "soundsift.training"},
    "soundsift.cli": set(SHELLS) - {"soundsift.cli", "research"},
    "research": {"soundsift.training"},
}

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
loaded = [m for m in sys.modules if m.startswith(("soundsift.training.", "research"))
          and m not in ("soundsift.training.train_cli", "soundsift.training.recipe_names",
                        "soundsift.training.finetune", "soundsift.training.finetune.cli")]
print(heavy, loaded)
"""


def test_the_command_line_loads_no_training_stack_until_a_training_command_runs():
    result = subprocess.run([sys.executable, "-c", HEAVY], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def _shell(module: str) -> str:
    """The shell a module belongs to, or "core"."""
    return next((s for s in SHELLS if module == s or module.startswith(s + ".")), "core")


def _all_imports(path: Path) -> set[str]:
    """Every module a file imports (absolute imports, at any depth of the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _imports(path: Path) -> set[str]:
    """The soundsift and research modules a file imports."""
    return {n for n in _all_imports(path) if n.split(".")[0] in ("soundsift", "research")}


def shell_violations(roots: tuple[Path, ...]) -> list[str]:
    """``file: imports module`` for every import that crosses into a shell its own shell may not use."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            shell = _shell(".".join(p for p in parts if p != "__init__"))
            if shell == "soundsift.cli" or parts == ("soundsift", "__main__"):
                continue  # the command line is the product's top: it may reach every product shell
            for name in sorted(_imports(path)):
                target = _shell(name)
                if target not in ("core", shell) and target not in ALLOWED[shell]:
                    found.append(f"{path.relative_to(root.parent)}: imports {name}")
    return found


def test_shells_import_only_what_the_architecture_allows():
    assert shell_violations((ROOT / "soundsift", ROOT / "research")) == []


def test_the_shell_check_catches_the_product_importing_the_lab(tmp_path):
    package = tmp_path / "soundsift" / "training"
    package.mkdir(parents=True)
    (package / "leaky.py").write_text("def f():\n    from research.data.testset import build_testset\n")
    (tmp_path / "soundsift" / "audio.py").write_text("import soundsift.gui.window\n")
    assert shell_violations((tmp_path / "soundsift",)) == [
        "soundsift/audio.py: imports soundsift.gui.window",
        "soundsift/training/leaky.py: imports research.data.testset",
    ]


def test_the_wheel_holds_no_lab_code():
    """pyproject's package list takes soundsift only, so research never ships."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert found["include"] == ["soundsift*"]


# torch-free package of soundsift -> the modules of the torch engine's package it may still import
TORCH_FREE = {
    "core": set(),
    "runtime": {"soundsift.model.encoders.compact_onnx"},
}


def torch_violations(package_root: Path) -> list[str]:
    """``file: imports module`` for every import of torch, or of the torch engine's ``soundsift.model``
    beyond what :data:`TORCH_FREE` allows, in the packages that both engines run."""
    found = []
    for folder, allowed in TORCH_FREE.items():
        for path in sorted((package_root / folder).rglob("*.py")):
            for name in sorted(_all_imports(path)):
                torch = name.split(".")[0] == "torch"
                engine = (name == "soundsift.model" or name.startswith("soundsift.model.")) and name not in allowed
                if torch or engine:
                    found.append(f"{path.relative_to(package_root.parent)}: imports {name}")
    return found


def test_the_shared_packages_import_no_torch():
    """``soundsift.core`` and the ONNX runtime import neither torch nor the torch network and encoders."""
    assert torch_violations(ROOT / "soundsift") == []


def test_the_torch_check_catches_torch_in_the_shared_packages(tmp_path):
    for folder in TORCH_FREE:
        (tmp_path / "soundsift" / folder).mkdir(parents=True)
    (tmp_path / "soundsift" / "core" / "plan.py").write_text("def f():\n    import torch.nn\n")
    (tmp_path / "soundsift" / "runtime" / "net.py").write_text(
        "from soundsift.model.encoders.compact_onnx import OnnxTextEncoder\nfrom soundsift.model import frontend\n")
    assert torch_violations(tmp_path / "soundsift") == [
        "soundsift/core/plan.py: imports torch.nn",
        "soundsift/runtime/net.py: imports soundsift.model",
    ]
