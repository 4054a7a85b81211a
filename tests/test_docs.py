"""README.md and docs/presets.md run as written; every documented command line parses; links to sections resolve.

Python blocks are executed against a tiny seeded model (``path/to/model`` stands for it). Shell
lines that call ``soundsift`` or ``python -m research`` in any document, in code blocks or inline
code, are parsed by the real argument parsers, so a renamed subcommand or option fails here.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from soundsift.cli import build_parser
from tests.conftest import test_signal, write_test_file

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MODEL_PATH = "path/to/model"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blocks(doc: Path, language: str) -> list[str]:
    """The fenced code blocks of ``doc`` in ``language``."""
    return re.findall(rf"```{language}\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)


def _expand(block: str, prompted: bool = False) -> list[str]:
    """A block's lines with continuations joined, ``$`` prompts dropped and ``NAME="..."`` variables filled in;
    ``prompted`` (a console block): only the lines after a ``$`` prompt, the rest being their output."""
    values: dict[str, str] = {}
    lines = []
    for line in block.replace("\\\n", " ").splitlines():
        if prompted and not line.startswith("$ "):
            continue
        line = line.removeprefix("$ ")
        for name, value in values.items():
            line = line.replace(f"${name}", value)
        assignment = re.fullmatch(r'\s*([A-Z]\w*)="([^"]*)"\s*(#.*)?', line)
        if assignment:
            values[assignment[1]] = assignment[2]
        lines.append(line)
    return lines


def command_lines(doc: Path) -> tuple[list[str], list[str]]:
    """Lines of the bash/console blocks, and the inline code spans that start with a command."""
    text = doc.read_text(encoding="utf-8")
    lines = [line for block in blocks(doc, "bash") for line in _expand(block)]
    lines += [line for block in blocks(doc, "console") for line in _expand(block, prompted=True)]
    fenced = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    inline = [span for span in re.findall(r"`([^`\n]+)`", fenced)
              if re.match(r"(soundsift|python -m research) [\w-]+( |$)", span)]  # not "soundsift separate: error"
    return lines, inline


def _argv_runs(line: str) -> list[list[str]]:
    """Each ``soundsift ...`` or ``python -m research ...`` call in one shell line, as argv."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # not shell (an unbalanced quote in prose)
        return []
    runs: list[list[str]] = []
    current: list[str] | None = None
    for i, word in enumerate(words):
        if word in ("&&", "||", ";", "|"):
            current = None
        elif current is None and (word == "soundsift" or word == "research" and words[i - 2:i] == ["python", "-m"]):
            current = [word]
            runs.append(current)
        elif current is not None:
            current.append(word)
    return runs


def _parsers() -> dict[str, Callable[[], argparse.ArgumentParser]]:
    parsers: dict[str, Callable[[], argparse.ArgumentParser]] = {"soundsift": build_parser}
    try:
        from research.cli import build_parser as research_parser
    except ImportError:  # an installed package without the source checkout's lab
        return parsers
    parsers["research"] = research_parser
    return parsers


def parse_error(argv: list[str], parser: argparse.ArgumentParser) -> str | None:
    """None when ``argv`` parses (or is a usage synopsis), else argparse's message."""
    if "..." in argv or any("|" in a or "[" in a or "$" in a for a in argv):
        return None  # a synopsis ("music|speech", "[--resume]") or a shell variable, not a literal command
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv[1:])
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().strip().splitlines()[-1]
    return None


# an inline span names a command or an option ("`soundsift eval`", "`soundsift separate --model`")
# without the arguments a run needs; only these messages are allowed for it
NAMING_ONLY = ("the following arguments are required", "expected one argument")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_documented_command_lines_parse(doc: Path) -> None:
    parsers = _parsers()
    lines, inline = command_lines(doc)
    problems = []
    for line, whole in [(line, True) for line in lines] + [(span, False) for span in inline]:
        for argv in _argv_runs(line):
            if argv[0] not in parsers:
                continue
            error = parse_error(argv, parsers[argv[0]]())
            if error is not None and (whole or not any(m in error for m in NAMING_ONLY)):
                problems.append(f"{line!r}: {error}")
    assert problems == []


def test_command_line_check_catches_a_wrong_option() -> None:
    (argv,) = _argv_runs("soundsift separate a.wav -q violin --no-such-option")
    assert "--no-such-option" in parse_error(argv, build_parser())
    (argv,) = _argv_runs("pip install -e . && soundsift separate a.wav -q violin -o out  # a comment")
    assert argv == ["soundsift", "separate", "a.wav", "-q", "violin", "-o", "out"]
    assert parse_error(argv, build_parser()) is None


def _run_python_blocks(doc: Path, model: Path, namespace: dict | None = None) -> dict:
    code = "\n".join(blocks(doc, "python"))
    assert code.count(MODEL_PATH) >= 1
    scope = dict(namespace or {})
    exec(compile(code.replace(MODEL_PATH, str(model)), str(doc), "exec"), scope)  # noqa: S102 (our own docs)
    return scope


def test_readme_python_example_runs(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    audio = test_signal(22_050, 2, 1.5)
    write_test_file(tmp_path / "mix.wav", audio, 22_050)
    scope = _run_python_blocks(ROOT / "README.md", tiny_model)
    assert scope["stems"]["violin"].shape == audio.shape


def test_presets_python_and_toml_examples_run(tiny_model, tmp_path, monkeypatch):
    from soundsift.presets import read_preset

    monkeypatch.chdir(tmp_path)
    write_test_file(tmp_path / "walk.wav", test_signal(16_000, 1, 1.0), 16_000)
    scope = _run_python_blocks(ROOT / "docs" / "presets.md", tiny_model)
    assert set(scope["stems"]) >= set(scope["preset"].queries) == {"rain", "wind"}
    (toml,) = blocks(ROOT / "docs" / "presets.md", "toml")
    (tmp_path / "rain.toml").write_text(toml, encoding="utf-8")
    preset = read_preset(tmp_path / "rain.toml").query
    assert preset.mode == "extract" and list(preset.queries) == ["rain", "wind"]


# what a user of the repository should never meet: notes of how it was developed, paths of the
# machine it was developed on, and a design document that is not in the repository
DEVELOPMENT_TRACES = re.compile("|".join([
    r"\b[Ii]ssue[ -]#?\d", r"\b[Ss]essions? \d", r"\b[Ss]ession-\d", "DESIGN" + r"\.md", "/" + "work/", "/" + "root/",
]))
CHECKED_TREES = ("README.md", "docs", "soundsift", "tests", "scripts", "research")


def test_no_development_traces_in_documents_code_or_tests() -> None:
    hits = []
    for tree in CHECKED_TREES:
        root = ROOT / tree
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in paths:
            if (path.suffix not in (".md", ".py", ".toml", ".sh", ".tsv", ".txt", ".json")
                    or "__pycache__" in path.parts or path == Path(__file__).resolve()):  # this file holds examples
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if DEVELOPMENT_TRACES.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert hits == []


def test_development_trace_pattern() -> None:
    for trace in ("see issue 45", "Session 26 adds", "DESIGN" + ".md §3", "/" + "work/data2/runs"):
        assert DEVELOPMENT_TRACES.search(trace), trace
    for fine in ("onnxruntime sessions", "a remote session", "an issue with the input", "/tmp/out"):
        assert not DEVELOPMENT_TRACES.search(fine), fine


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@functools.cache
def _prose(doc: Path) -> str:
    """A document's text without its fenced code blocks (read once per document)."""
    return re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)


def _anchors(doc: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", _prose(doc), re.MULTILINE)}


def test_links_to_sections_name_existing_headings() -> None:
    broken = []
    for doc in DOCS:
        for target, anchor in re.findall(r"\]\(([\w./-]*?)#([\w-]+)\)", _prose(doc)):
            linked = doc if not target else (doc.parent / target).resolve()
            if linked.suffix == ".md" and (not linked.is_file() or anchor not in _anchors(linked)):
                broken.append(f"{doc.name}: {target}#{anchor}")
    assert not broken


def test_heading_slugs_follow_the_renderer() -> None:
    assert _slug("Training your own: `python -m research clap`") == "training-your-own-python--m-research-clap"
    assert _slug("Training regimes: the shape of the paper's Tables 1-2") == "training-regimes-the-shape-of-the-papers-tables-1-2"
