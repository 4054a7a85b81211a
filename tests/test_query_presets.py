"""Query presets and the preset catalog: built-ins validate and run, bad files are clear, import/export round-trips."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.audio import read_audio
from soundsift.cli import main
from soundsift.errors import InvalidArgumentError, PresetError
from soundsift.plugin_host import SeparatingStage, StemChains, walk
from soundsift.presets import (
    builtin_presets,
    export_preset,
    find_preset,
    import_preset,
    list_presets,
    load_preset,
    read_preset,
    user_presets_dir,
)
from soundsift.separation import SeparationOptions
from soundsift.separator import Separator
from tests.conftest import test_signal, write_test_file
from tests.test_cli import run_cli

SR = 16_000
QUERY_PRESETS = {"dialogue", "strings", "brass", "rain-and-wind", "remove-crowd", "duck-engine"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def on_model(chain, model: Path):
    """Point every separating stage of ``chain`` at ``model``."""
    for stage in walk(chain):
        if isinstance(stage, SeparatingStage):
            stage.model = str(model)
    return chain


@pytest.mark.parametrize("name", sorted(builtin_presets()))
def test_every_builtin_preset_validates_and_runs(name, tiny_model):
    preset = read_preset(name)
    assert preset.name and preset.description
    if name in QUERY_PRESETS:
        assert preset.kind == "query" and preset.query is not None and preset.query.queries
    audio = test_signal(SR, 2, 0.6, seed=1)
    out = on_model(preset.to_chain(), tiny_model)(audio, SR)
    assert out.shape == audio.shape and np.isfinite(out).all() and np.abs(out).max() > 0


def test_the_builtin_query_presets_are_there():
    assert QUERY_PRESETS | {"vocal-reverb", "duck-crowd"} <= set(builtin_presets())
    assert read_preset("Rain and wind").query.gain_db == {"wind": -3.0}
    assert find_preset("REMOVE CROWD").name == "remove-crowd"


def test_a_query_preset_as_a_chain_keeps_each_sound_at_its_level(half_model):
    """With every mask at 0.5 each stem is half the input, so the remix levels are exact."""
    audio = test_signal(SR, 1, 0.5)
    extract = on_model(load_preset("rain-and-wind"), half_model)
    (stems,) = extract
    assert isinstance(stems, StemChains) and stems.gain_db["rest"] == -math.inf
    np.testing.assert_allclose(extract(audio, SR), 0.5 * audio * (1 + 10 ** (-3 / 20)), atol=1e-5)
    duck = on_model(load_preset("duck-engine"), half_model)
    np.testing.assert_allclose(duck(audio, SR), audio * (0.5 + 0.5 * 10 ** (-12 / 20)), atol=1e-5)
    remove = on_model(load_preset("remove-crowd"), half_model)
    np.testing.assert_allclose(remove(audio, SR), 0.5 * audio, atol=1e-5)


def test_separation_options_put_each_query_at_its_level(half_model):
    sep = Separator.load(str(half_model))
    audio = test_signal(SR, 2, 0.5)
    gains = {"a": -6.0, "b": -math.inf}
    extract = sep.separate(audio, ["a", "b", "c"], SR, options=SeparationOptions(gain_db=gains, segment_seconds=0.25))
    remove = sep.separate(audio, ["a", "b", "c"], SR, options=SeparationOptions("remove", 0.25, gain_db=gains))
    share = audio / 3  # three masks of 0.5 claim every bin: each query takes a third
    np.testing.assert_allclose(extract["a"], share * 10 ** (-6 / 20), atol=1e-5)
    np.testing.assert_allclose(extract["b"], 0 * share, atol=1e-6)
    np.testing.assert_allclose(extract["c"], share, atol=1e-5)
    np.testing.assert_allclose(remove["a"], audio - share * (1 - 10 ** (-6 / 20)), atol=1e-5)
    np.testing.assert_allclose(remove["b"], audio - share, atol=1e-5)
    np.testing.assert_allclose(remove["c"], audio - share, atol=1e-5)
    np.testing.assert_allclose(extract["rest"], remove["rest"], atol=1e-6)  # rest is never scaled
    with pytest.raises(InvalidArgumentError, match="not one of the queries"):
        sep.separate(audio, ["a"], SR, options=SeparationOptions(gain_db={"z": 1.0}))
    with pytest.raises(InvalidArgumentError, match="number of decibels"):
        SeparationOptions(gain_db={"a": math.inf})


BAD = {
    "no kind": ('name = "x"\n', "no queries and no stages"),
    "both kinds": ('queries = ["a"]\n[[stages]]\ntype = "Gain"\n', "both queries and stages"),
    "mode without queries": ('mode = "remove"\n[[stages]]\ntype = "Gain"\n', "mode belongs to a query preset"),
    "bad mode": ('mode = "isolate"\nqueries = ["a"]\n', "mode must be one of extract, remove, got 'isolate'"),
    "empty queries": ("queries = []\n", "queries is empty"),
    "queries not a list": ('queries = "a violin"\n', "queries must be an array"),
    "blank query": ('queries = ["  "]\n', r"queries\[0\]: query is blank"),
    "number as query": ("queries = [3]\n", r"queries\[0\] must be text or a table"),
    "repeated query": ('queries = ["a", "a"]\n', "queries must be distinct"),
    "rest as query": ('queries = ["rest"]\n', "'rest' is the name of the residual stem"),
    "unknown item key": ('queries = [{ query = "a", gain = 1 }]\n', r"queries\[0\]: unknown parameter 'gain'"),
    "missing query": ("queries = [{ gain_db = 1 }]\n", r"queries\[0\]: missing parameter 'query'"),
    "gain as text": ('queries = [{ query = "a", gain_db = "loud" }]\n', "gain_db' must be a number, got 'loud'"),
    "gain too high": ('queries = [{ query = "a", gain_db = 40 }]\n', "must be a number of decibels from -120 to \\+24"),
    "gain too low": ('queries = [{ query = "a", gain_db = -200 }]\n', "or -inf to remove the sound, got -200.0"),
    "gain nan": ('queries = [{ query = "a", gain_db = nan }]\n', "parameter 'gain_db' must be a number, got nan"),
    "unknown key": ('queries = ["a"]\ngains = {}\n', "unknown top-level key 'gains'"),
    "name not text": ('name = 3\nqueries = ["a"]\n', "name must be text, got 3"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_query_presets_say_what_and_where(case, tmp_path):
    body, message = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text("format = 1\n" + body)
    with pytest.raises(PresetError, match=message) as info:
        read_preset(path)
    assert str(path) in str(info.value)


def test_missing_presets_list_the_known_names(tmp_path):
    with pytest.raises(PresetError, match="no preset named 'nope'.*dialogue"):
        read_preset("nope")
    with pytest.raises(PresetError, match="missing.toml: no such preset file.*rain-and-wind"):
        read_preset(tmp_path / "missing.toml")


@pytest.mark.parametrize("name", ["dialogue", "rain-and-wind", "duck-engine", "vocal-reverb"])
def test_export_then_import_round_trips(name, tmp_path):
    exported = export_preset(name, tmp_path / "out" / f"{name}.toml")
    entry = import_preset(exported, "Mine")
    assert entry.origin == "user" and entry.path == user_presets_dir() / "mine.toml"
    original, again = read_preset(name), read_preset("mine")
    assert again.name == "Mine" and again.kind == original.kind
    assert {k: v for k, v in again.to_dict().items() if k != "name"} == {
        k: v for k, v in original.to_dict().items() if k != "name"}
    with pytest.raises(PresetError, match="already exists"):
        export_preset(name, exported)
    with pytest.raises(PresetError, match="user preset named 'mine' exists"):
        import_preset(exported, "Mine")
    import_preset(exported, "Mine", overwrite=True)


def test_a_user_preset_shadows_a_builtin_one_and_relative_files_become_absolute(tmp_path):
    soundfile.write(tmp_path / "room.wav", np.r_[1.0, np.zeros(20), 0.2], SR)
    (tmp_path / "dialogue.toml").write_text(
        'format = 1\nname = "My room"\n[[stages]]\ntype = "Convolution"\nimpulse_response_filename = "room.wav"\n')
    import_preset(tmp_path / "dialogue.toml")
    assert [e.origin for e in list_presets() if e.name == "dialogue"] == ["user"]
    saved = (user_presets_dir() / "dialogue.toml").read_text()
    assert f'impulse_response_filename = "{tmp_path / "room.wav"}"' in saved
    (convolution,) = load_preset("dialogue")
    assert Path(convolution.impulse_response_filename) == tmp_path / "room.wav"


def test_an_invalid_file_is_not_imported(tmp_path):
    (tmp_path / "bad.toml").write_text('format = 1\nqueries = ["a"]\nmode = "loud"\n')
    with pytest.raises(PresetError, match="mode must be one of"):
        import_preset(tmp_path / "bad.toml")
    assert not user_presets_dir().exists() or not list(user_presets_dir().iterdir())


def test_separate_with_a_preset_writes_its_queries_at_their_levels(half_model, tmp_path):
    audio = test_signal(SR, 2, 0.5)
    source = write_test_file(tmp_path / "walk.wav", audio, SR, "FLOAT")
    out = tmp_path / "out"
    args = ["separate", str(source), "--preset", "Rain and wind", "-q", "thunder", "--model", str(half_model),
            "-o", str(out), "--bit-depth", "32f", "--segment", "0.25", "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in (out / "walk").glob("*.wav")) == ["rain.wav", "rest.wav", "thunder.wav", "wind.wav"]
    share = audio / 3  # three masks of 0.5 claim every bin: each query takes a third
    np.testing.assert_allclose(read_audio(out / "walk" / "wind.wav")[0], share * 10 ** (-3 / 20), atol=1e-5)
    np.testing.assert_allclose(read_audio(out / "walk" / "thunder.wav")[0], share, atol=1e-5)
    # --mode overrides the preset's mode, and the preset's levels (meant for its own mode) are dropped
    assert main([*args[:-1], "--mode", "remove", "-o", str(tmp_path / "rm"), "--quiet"]) == 0
    np.testing.assert_allclose(read_audio(tmp_path / "rm" / "walk" / "without-wind.wav")[0], audio - share, atol=1e-5)


def test_separate_preset_errors(tmp_path, tiny_model):
    source = write_test_file(tmp_path / "a.wav", test_signal(SR, 1, 0.3), SR)
    cases = [(["--preset", "vocal-reverb"], "'vocal-reverb' is a chain preset; run it with: soundsift process"),
             (["--preset", "nope"], "no preset named 'nope'")]
    for extra, message in cases:
        result = run_cli("separate", source, *extra, "--model", tiny_model, "-o", tmp_path / "out")
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    usage = run_cli("separate", source, "--model", tiny_model, "-o", tmp_path / "out")
    assert usage.returncode == 2 and "at least one query (-q QUERY) or a query preset (--preset NAME)" in usage.stderr
    assert not (tmp_path / "out").exists()


def test_process_with_a_query_preset(half_model, tmp_path):
    audio = test_signal(SR, 1, 0.5)
    source = write_test_file(tmp_path / "in.wav", audio, SR, "FLOAT")
    out = tmp_path / "ducked.wav"
    assert main(["process", str(source), "--preset", "duck-engine", "--model", str(half_model), "-o", str(out),
                 "--bit-depth", "32f", "--quiet"]) == 0
    np.testing.assert_allclose(read_audio(out)[0], audio * (0.5 + 0.5 * 10 ** (-12 / 20)), atol=1e-5)


def test_the_presets_command(tmp_path):
    listed = run_cli("presets", "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^rain-and-wind +built-in +query +Rain and wind: ", listed.stdout, re.MULTILINE)
    assert "vocal-reverb" in listed.stdout
    shown = run_cli("presets", "show", "dialogue")
    assert shown.returncode == 0 and 'queries = ["a man speaking", "a woman speaking"]' in shown.stdout
    target = tmp_path / "d.toml"
    assert run_cli("presets", "export", "dialogue", target).returncode == 0
    again = run_cli("presets", "export", "dialogue", target)
    assert again.returncode == 1 and "already exists (pass --force" in again.stderr
    imported = run_cli("presets", "import", target, "--name", "Talk")
    assert imported.returncode == 0 and "imported 'talk'" in imported.stdout, imported.stderr
    assert re.search(r"^talk +user +query +Talk: Keep the speech", run_cli("presets", "list").stdout, re.MULTILINE)
    missing = run_cli("presets", "show", "nope")
    assert missing.returncode == 1 and "no preset named 'nope'" in missing.stderr
