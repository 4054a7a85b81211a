"""The package imports on the oldest Python that pyproject.toml claims.

The suite runs on a newer interpreter, so this scans the source instead: a name that the
standard library gained after the floor may appear only under ``if TYPE_CHECKING:``, under
``if sys.version_info >= ...:``, or in a ``try``/``except ImportError`` fallback.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("soundsift", "research", "tests", "scripts")  # the package, and what runs beside it from a checkout
FLOOR = (3, 10)

# name -> the Python version that added it to the standard library
NEWER_TYPING = {name: (3, 11) for name in (
    "Self", "LiteralString", "Never", "assert_never", "assert_type", "reveal_type", "dataclass_transform",
    "Required", "NotRequired", "TypeVarTuple", "Unpack", "get_overloads", "clear_overloads")}
NEWER_TYPING.update({name: (3, 12) for name in ("override", "TypeAliasType")})
NEWER_MODULES = {"tomllib": (3, 11), "wsgiref.types": (3, 11)}
NEWER_FROM = {("enum", "StrEnum"): (3, 11), ("datetime", "UTC"): (3, 11)}


def stated_floor() -> tuple[int, int]:
    """The minor version in pyproject's ``requires-python = ">=3.X"``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    major, minor = re.search(r'requires-python\s*=\s*">=(\d+)\.(\d+)"', text).groups()
    return int(major), int(minor)


def _is_guard(node: ast.AST) -> bool:
    """True for ``if TYPE_CHECKING:``, ``if sys.version_info ...:`` and ``try: ... except ImportError:``."""
    if isinstance(node, ast.If):
        return any(key in ast.unparse(node.test) for key in ("TYPE_CHECKING", "sys.version_info"))
    if isinstance(node, ast.Try):
        caught = " ".join(ast.unparse(h.type) for h in node.handlers if h.type is not None)
        return "ImportError" in caught or "ModuleNotFoundError" in caught
    return False


def _guarded_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes in the guarded branch of every guard (the ``if`` body, the ``try`` body)."""
    return {id(n) for node in ast.walk(tree) if _is_guard(node)
            for stmt in node.body for n in ast.walk(stmt)}


def too_new_imports(source: str, floor: tuple[int, int]) -> list[str]:
    """Each unguarded import in ``source`` of a standard-library name newer than ``floor``."""
    tree = ast.parse(source)
    guarded = _guarded_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if NEWER_MODULES.get(a.name, FLOOR) > floor]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                since = NEWER_TYPING.get(alias.name, FLOOR) if node.module == "typing" else \
                    NEWER_FROM.get((node.module, alias.name), NEWER_MODULES.get(node.module, FLOOR))
                if since > floor:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "typing" \
                and NEWER_TYPING.get(node.attr, FLOOR) > floor:
            found.append(f"line {node.lineno}: typing.{node.attr}")
    return found


def test_floor_matches_pyproject() -> None:
    assert stated_floor() == FLOOR


def test_sources_use_no_stdlib_name_newer_than_the_floor() -> None:
    paths = sorted(p for tree in SOURCES for p in (ROOT / tree).rglob("*.py"))
    assert any(p.name == "cli.py" for p in paths)
    problems = [f"{path.relative_to(ROOT)} {hit}" for path in paths
                for hit in too_new_imports(path.read_text(encoding="utf-8"), FLOOR)]
    assert problems == []


def test_scan_flags_unguarded_and_accepts_guarded_imports() -> None:
    bad = "from typing import Self\nimport tomllib\nx: typing.Never\nfrom enum import StrEnum\n"
    assert len(too_new_imports(bad, FLOOR)) == 4
    good = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from typing import Self\n"
            "try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib\n")
    assert too_new_imports(good, FLOOR) == []
    assert too_new_imports("import sys\nif sys.version_info >= (3, 11):\n    import tomllib\n", FLOOR) == []
