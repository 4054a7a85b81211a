"""docs/plugin_host.md: its Python, TOML and command-line examples run as written."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from soundsift.cli import main
from soundsift.presets import preset_from_dict
from tests.conftest import test_signal, write_test_file
from tests.test_docs import blocks

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin_host.md"
MODEL_LINE = 'MODEL = "path/to/model"'


def examples(language: str) -> list[str]:
    return blocks(DOC, language)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_python_and_command_line_examples_run(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_test_file(tmp_path / "song.wav", test_signal(44_100, 2, 2.0), 44_100, "FLOAT")
    code = "\n".join(examples("python"))
    assert code.count(MODEL_LINE) == 1
    exec(compile(code.replace(MODEL_LINE, f"MODEL = {str(tiny_model)!r}"), str(DOC), "exec"), {})  # noqa: S102 (our own docs)
    assert (tmp_path / "song-no-crowd.wav").is_file() and (tmp_path / "my-board.toml").is_file()
    commands = [line for block in examples("bash") for line in block.splitlines() if line.strip()]
    assert commands
    for command in commands:
        argv = shlex.split(command.replace("MODEL", str(tiny_model)))
        assert argv[0] == "soundsift" and main([*argv[1:], "--quiet"]) == 0, command
    assert sorted(p.name for p in tmp_path.glob("song-*")) == ["song-no-crowd.wav", "song-vocal-reverb.flac",
                                                             "song-wet.wav"]


def test_the_toml_example_is_a_valid_preset():
    (block,) = examples("toml")
    chain = preset_from_dict(tomllib.loads(block))
    assert [type(stage).__name__ for stage in chain] == ["Gain", "TextSeparate", "StemChains"]
    assert np.isclose(chain[2].gain_db["crowd noise"], -12.0)
