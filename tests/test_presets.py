"""Chain presets: every parameter survives a TOML round trip, and bad presets are clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pedalboard
import pytest
import soundfile
from pedalboard import Compressor, Convolution, Gain, LadderFilter, Limiter, Resample, Reverb

from soundsift.errors import PresetError
from soundsift.plugin_host import Chain, Mix, StemChains, TextSeparate, load_plugin
from soundsift.presets import builtin_presets, from_dict, load_preset, preset_to_dict, save_preset, to_dict
from soundsift.presets.native import builtin_effects, native_to_dict
from tests.conftest import test_signal

SR = 16_000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def full_chain(model: Path, impulse_response: Path) -> Chain:
    """A chain with every kind of processor, all away from their default parameters."""
    return Chain([
        Gain(gain_db=4.5),
        Compressor(threshold_db=-18, ratio=3, attack_ms=5, release_ms=80),
        TextSeparate("a dog barking", mode="remove", gain_db=-1.5, model=str(model), segment_seconds=0.25, overlap=0.1),
        Mix([[], [Reverb(room_size=0.8, wet_level=0.6), LadderFilter(mode=LadderFilter.Mode.HPF24, cutoff_hz=300)]]),
        StemChains({"violin": [Convolution(str(impulse_response), 0.4)], "speech": []}, rest=[Resample(8000)],
                   gain_db={"speech": -12, "rest": 1}, model=str(model), segment_seconds=0.3),
        pedalboard.Pedalboard([Limiter(threshold_db=-3)]),
    ])


@pytest.fixture
def impulse_response(tmp_path: Path) -> Path:
    path = tmp_path / "room.wav"
    soundfile.write(path, np.r_[1.0, np.zeros(30), 0.3, np.zeros(50), 0.1], SR)
    return path


def test_a_chain_round_trips_with_every_parameter(tiny_model, impulse_response, tmp_path):
    chain = full_chain(tiny_model, impulse_response)
    path = save_preset(chain, tmp_path / "presets" / "everything.toml")
    loaded = load_preset(path)
    assert preset_to_dict(loaded) == preset_to_dict(chain)
    assert "room_size = 0.8\n" in path.read_text()
    audio = test_signal(SR, 2, 1.0)
    np.testing.assert_array_equal(loaded(audio, SR), chain(audio, SR))


@pytest.mark.parametrize("name", sorted(set(builtin_effects()) - {"Convolution"}))
def test_every_builtin_pedalboard_effect_round_trips(name):
    plugin = builtin_effects()[name]()
    table = to_dict(plugin)
    again = from_dict(table)
    assert type(again) is type(plugin) and to_dict(again) == table


def test_relative_files_in_a_preset_are_found_next_to_it(tiny_model, impulse_response, tmp_path):
    (tmp_path / "ir.toml").write_text(
        'format = 1\n[[stages]]\ntype = "Convolution"\nimpulse_response_filename = "room.wav"\nmix = 0.5\n'
    )
    (convolution,) = load_preset(tmp_path / "ir.toml")
    assert Path(convolution.impulse_response_filename) == impulse_response


def test_files_are_saved_as_absolute_paths(impulse_response, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chain = [Convolution("room.wav"), TextSeparate("violin", model="./models/mine"), TextSeparate("violin", model="tiny")]
    saved = preset_to_dict(chain)["stages"]
    assert saved[0]["impulse_response_filename"] == str(impulse_response)
    assert saved[1]["model"] == str(tmp_path / "models" / "mine") and saved[2]["model"] == "tiny"


def test_partial_tables_take_default_values(tmp_path):
    (tmp_path / "p.toml").write_text('format = 1\n[[stages]]\ntype = "TextSeparate"\nquery = "violin"\n')
    (stage,) = load_preset(tmp_path / "p.toml")
    assert (stage.query, stage.mode, stage.gain_db, stage.model, stage.segment_seconds) == (
        "violin", "extract", 0.0, "default", 10.0)


BAD_PRESETS = {
    "unknown plugin": ('[[stages]]\ntype = "Flanger"\n', r"stages\[0\]: unknown plugin type 'Flanger'"),
    "no type": ("[[stages]]\ngain_db = 1\n", r"stages\[0\]: every stage needs a type"),
    "unknown parameter": ('[[stages]]\ntype = "Reverb"\nroomsize = 0.5\n', r"unknown parameter 'roomsize'.*room_size"),
    "wrong type": ('[[stages]]\ntype = "Gain"\ngain_db = "loud"\n', r"stages\[0\] \(Gain\): parameter 'gain_db' must be a number, got 'loud'"),
    "bool for a number": ('[[stages]]\ntype = "Gain"\ngain_db = true\n', "must be a number"),
    "bad enum": ('[[stages]]\ntype = "LadderFilter"\nmode = "LPF48"\n', "must be one of LPF12"),
    "out of range": ('[[stages]]\ntype = "Delay"\nfeedback = 3.0\n', r"parameter 'feedback': 3.0 is not accepted"),
    "nested wrong type": (('[[stages]]\ntype = "Mix"\n[[stages.branches]]\ntype = "Chain"\n'
                           '[[stages.branches.stages]]\ntype = "TextSeparate"\nquery = 3\n'),
                          (r"stages\[0\] \(Mix\)\.branches\[0\] \(Chain\)\.stages\[0\] \(TextSeparate\): "
                          r"parameter 'query' must be text, got 3")),
    "missing query": ('[[stages]]\ntype = "TextSeparate"\n', "missing parameter 'query'"),
    "bad mode": ('[[stages]]\ntype = "TextSeparate"\nquery = "v"\nmode = "isolate"\n', "mode must be one of"),
    "rest as a stem": ('[[stages]]\ntype = "StemChains"\n[stages.stems.rest]\n', "'rest' is the residual stem"),
    "unknown gain key": ('[[stages]]\ntype = "StemChains"\n[stages.stems.v]\ngain = 1\n', "unknown parameter 'gain'"),
    "missing impulse response": ('[[stages]]\ntype = "Convolution"\nimpulse_response_filename = "nope.wav"\n',
                                 r"\(Convolution\): parameter 'impulse_response_filename': .*nope.wav: no such file"),
    "missing plugin file": ('[[stages]]\ntype = "external"\npath = "nope.vst3"\n', "plugin file not found: .*nope.vst3"),
    "stages not an array": ('stages = "Gain"\n', "stages must be an array"),
}


@pytest.mark.parametrize("case", sorted(BAD_PRESETS))
def test_bad_presets_say_what_and_where(case, tmp_path):
    body, message = BAD_PRESETS[case]
    path = tmp_path / "bad.toml"
    path.write_text("format = 1\n" + body)
    with pytest.raises(PresetError, match=message) as info:
        load_preset(path)
    assert str(path) in str(info.value)


def test_unreadable_files_and_formats_are_clear_errors(tmp_path):
    with pytest.raises(PresetError, match="no such preset file.*vocal-reverb"):
        load_preset(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("format = 1\n[[stages]\n")
    with pytest.raises(PresetError, match="not valid TOML"):
        load_preset(tmp_path / "broken.toml")
    (tmp_path / "old.toml").write_text("[[stages]]\ntype = 'Gain'\n")
    with pytest.raises(PresetError, match="expected format = 1"):
        load_preset(tmp_path / "old.toml")
    (tmp_path / "extra.toml").write_text("format = 1\nname = 'x'\ncolour = 'red'\nstages = []\n")
    with pytest.raises(PresetError, match="unknown top-level key 'colour'"):
        load_preset(tmp_path / "extra.toml")


def test_what_cannot_be_saved_is_refused_and_nothing_is_written(tmp_path):
    in_memory = Convolution(np.r_[1.0, np.zeros(9)].astype(np.float32), 0.5, SR)
    with pytest.raises(PresetError, match=r"stages\[1\]: Convolution has no impulse_response_filename"):
        save_preset([Gain(), in_memory], tmp_path / "p.toml")
    assert list(tmp_path.iterdir()) == []


def test_plugins_loaded_through_the_host_save_their_file_and_parameters(tmp_path, monkeypatch):
    class FakeVst3:
        """Stands in for a VST3 (none is installed here): parameters as attributes, as Pedalboard has them."""

        def __init__(self, values):
            self.parameters = {"drive": None, "bypass": None, "character": None}
            self.drive, self.bypass, self.character = 0.5, False, "warm"
            for name, value in values.items():
                setattr(self, name, value)

    calls = []

    def fake_load(path, parameter_values, plugin_name):
        calls.append((path, parameter_values, plugin_name))
        return FakeVst3(parameter_values)

    monkeypatch.setattr(pedalboard, "load_plugin", fake_load)
    bundle = tmp_path / "Fuzz.vst3"
    bundle.mkdir()
    plugin = load_plugin(bundle, {"drive": 0.9}, plugin_name="Fuzz")
    table = native_to_dict(plugin, "stage")
    assert table == {"type": "external", "path": str(bundle), "plugin_name": "Fuzz",
                     "parameters": {"drive": 0.9, "bypass": False, "character": "warm"}}
    again = from_dict(table)
    assert calls[-1] == (str(bundle), table["parameters"], "Fuzz") and again.drive == 0.9


def test_builtin_presets_load_by_name(tiny_model):
    assert {"vocal-reverb", "duck-crowd"} <= set(builtin_presets())
    for name in builtin_presets():
        chain = load_preset(name)
        assert isinstance(chain, Chain) and len(chain) >= 1
    (stem_chains, limiter) = load_preset("duck-crowd")
    assert stem_chains.gain_db["crowd noise"] == -12.0 and isinstance(limiter, Limiter)


def test_a_saved_preset_gets_the_mode_of_a_plain_file(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("x")
    path = save_preset(Chain([Gain(gain_db=-3.0)]), tmp_path / "sub" / "quiet.toml")
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777
    assert [p.name for p in path.parent.iterdir()] == ["quiet.toml"]
    assert isinstance(load_preset(path)[0], Gain)
