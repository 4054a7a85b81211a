"""Bad presets, configs, recipes and API arguments end in one clear error naming the file and the key."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.audio import check_audio_array
from soundsift.cli import main
from soundsift.errors import AudioError, InvalidArgumentError, PresetError
from soundsift.presets import load_preset
from soundsift.separation import SeparationOptions

SR = 16_000


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a failed command printed on stderr (no traceback)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# presets: native plugin parameters, impulse responses, nesting, segment length


def test_nan_gain_in_a_chain_preset_is_refused_by_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preset = write(tmp_path / "quiet.toml", 'format = 1\n[[stages]]\ntype = "Gain"\ngain_db = nan\n')
    src = tmp_path / "in.wav"
    soundfile.write(src, np.zeros(SR, np.float32), SR)
    assert main(["process", str(src), "--preset", str(preset), "-o", str(tmp_path / "out.wav")]) == 1
    assert f"{preset}: stages[0] (Gain): parameter 'gain_db' must be a number, got nan" in one_error_line(capsys)
    assert not (tmp_path / "out.wav").exists()


def test_infinite_native_parameter_is_refused(tmp_path: Path) -> None:
    preset = write(tmp_path / "loud.toml", 'format = 1\n[[stages]]\ntype = "Gain"\ngain_db = inf\n')
    with pytest.raises(PresetError, match=r"loud.toml: stages\[0\] \(Gain\): parameter 'gain_db' must be a finite"):
        load_preset(preset)


def test_nan_parameter_of_an_external_plugin_is_refused(tmp_path: Path) -> None:
    preset = write(tmp_path / "vst.toml", 'format = 1\n[[stages]]\ntype = "external"\npath = "comp.vst3"\n'
                                          "parameters = { threshold_db = nan }\n")
    with pytest.raises(PresetError, match=r"vst.toml: stages\[0\] \(external\): parameter 'threshold_db' must be a "
                                          "finite number, got nan"):
        load_preset(preset)


def test_convolution_with_an_impulse_response_that_is_not_audio_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "hall.wav", "not audio at all")
    preset = write(tmp_path / "room.toml", 'format = 1\n[[stages]]\ntype = "Convolution"\n'
                                           'impulse_response_filename = "hall.wav"\n')
    with pytest.raises(PresetError, match=r"room.toml: stages\[0\] \(Convolution\): parameter "
                                          r"'impulse_response_filename': .*hall.wav is not a readable audio file"):
        load_preset(preset)


def test_convolution_with_an_empty_impulse_response_is_refused(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), SR)
    preset = write(tmp_path / "room.toml", 'format = 1\n[[stages]]\ntype = "Convolution"\n'
                                           'impulse_response_filename = "empty.wav"\n')
    with pytest.raises(PresetError, match="empty.wav holds no audio"):
        load_preset(preset)


def test_convolution_with_a_real_impulse_response_loads(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "ir.wav", np.r_[1.0, np.zeros(99)].astype(np.float32), SR)
    preset = write(tmp_path / "room.toml", 'format = 1\n[[stages]]\ntype = "Convolution"\n'
                                           'impulse_response_filename = "ir.wav"\n')
    assert type(load_preset(preset)[0]).__name__ == "Convolution"


def deep_preset_by_headers(depth: int) -> str:
    lines = ["format = 1"]
    for level in range(1, depth + 1):
        lines += ["[[" + ".".join(["stages"] * level) + "]]", 'type = "Chain"']
    return "\n".join(lines) + "\n"


def deep_preset_inline(depth: int) -> str:
    return "format = 1\nstages = " + '[{type = "Chain", stages = ' * depth + "[]" + "}]" * depth + "\n"


@pytest.mark.parametrize("text", [deep_preset_by_headers(400), deep_preset_inline(400)], ids=["headers", "inline"])
def test_preset_nested_400_deep_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    preset = write(tmp_path / "deep.toml", text)
    assert main(["presets", "show", str(preset)]) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"soundsift: error: {preset}: nested") and "64" in line


def test_preset_nested_a_few_levels_still_loads(tmp_path: Path) -> None:
    assert len(load_preset(write(tmp_path / "ok.toml", deep_preset_by_headers(20)))) == 1


def test_nan_segment_in_a_preset_is_refused(tmp_path: Path) -> None:
    preset = write(tmp_path / "seg.toml", 'format = 1\n[[stages]]\ntype = "TextSeparate"\nquery = "rain"\n'
                                          "segment_seconds = nan\n")
    with pytest.raises(PresetError, match=r"seg.toml: stages\[0\] \(TextSeparate\): parameter 'segment_seconds' must be a number, got nan"):
        load_preset(preset)


def test_too_short_segment_in_a_preset_is_refused(tmp_path: Path) -> None:
    preset = write(tmp_path / "seg.toml", 'format = 1\n[[stages]]\ntype = "TextSeparate"\nquery = "rain"\n'
                                          "segment_seconds = 1e-9\n")
    with pytest.raises(PresetError, match=r"seg.toml: stages\[0\] \(TextSeparate\): segment length must be between 0.1"):
        load_preset(preset)


# --segment and SeparationOptions


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0.001", "1e9", "ten"])
def test_cli_segment_out_of_range_is_one_usage_line(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["separate", "in.wav", "-q", "rain", f"--segment={value}", "-o", "out"])
    assert stop.value.code == 2
    assert "argument --segment: segment length must be" in capsys.readouterr().err


@pytest.mark.parametrize("value", [math.nan, math.inf, 0.0, 0.05, 601.0, "10"])
def test_options_refuse_a_segment_out_of_range(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="segment length must be between 0.1 and 600 seconds"):
        SeparationOptions(segment_seconds=value)  # type: ignore[arg-type]


# gain_db of SeparationOptions


@pytest.mark.parametrize("gain", [1e6, 24.5, -121.0, math.inf, math.nan, True, "3"])
def test_options_refuse_a_gain_out_of_range(gain: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"gain_db\['rain'\] must be a number of decibels from -120 to \+24"):
        SeparationOptions(gain_db={"rain": gain})  # type: ignore[dict-item]


def test_plugin_host_stages_take_the_same_gain_range(tmp_path: Path) -> None:
    from soundsift.plugin_host import StemChains, TextSeparate

    with pytest.raises(InvalidArgumentError, match=r"gain_db must be a number of decibels from -120 to \+24"):
        TextSeparate("rain", gain_db=1e6)
    with pytest.raises(InvalidArgumentError, match=r"gain_db\['rest'\] must be a number of decibels from -120"):
        StemChains({"rain": []}, gain_db={"rest": -500.0})
    preset = write(tmp_path / "loud.toml", 'format = 1\n[[stages]]\ntype = "TextSeparate"\nquery = "rain"\n'
                                           "gain_db = 1e6\n")
    with pytest.raises(PresetError, match=r"loud.toml: stages\[0\] \(TextSeparate\): gain_db must be a number of "):
        load_preset(preset)


def test_options_accept_gains_in_range_and_removal() -> None:
    gains = {"a": -120.0, "b": 24, "c": -math.inf, "d": 0.0}
    assert SeparationOptions(gain_db=gains).gain_db == gains


# arrays given to the API


@pytest.mark.parametrize("shape", [(32000, 2), (3, 2), (65, 16000)])
def test_array_with_an_implausible_channel_axis_is_refused(shape: tuple[int, int]) -> None:
    with pytest.raises(AudioError, match=r"expected a \(channels, samples\) array, got shape .*transpose"):
        check_audio_array(np.zeros(shape, np.float32))


def test_channels_first_arrays_up_to_the_maximum_pass() -> None:
    assert check_audio_array(np.zeros((64, 1000), np.float32)).shape == (64, 1000)
    assert check_audio_array(np.zeros((1, 1), np.float32)).shape == (1, 1)


def test_separate_refuses_a_channels_last_array(tiny_model: Path) -> None:
    from soundsift.separator import Separator

    with pytest.raises(AudioError, match=r"got shape \(32000, 2\): 32000 channels of 2 samples"):
        Separator.load(tiny_model).separate(np.zeros((32000, 2), np.float32), ["rain"], SR)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_unsigned_integers_are_centred_like_signed_ones(dtype: type) -> None:
    info = np.iinfo(dtype)
    mid = info.max // 2 + 1
    audio = check_audio_array(np.array([info.min, mid, info.max], dtype))
    signed = np.iinfo(f"i{np.dtype(dtype).itemsize}")
    expected = check_audio_array(np.array([signed.min, 0, signed.max], signed.dtype))
    np.testing.assert_allclose(audio, expected, rtol=1e-6)
    assert audio[0, 1] == 0.0


# the plugin host's streams


def test_a_stream_broken_by_an_error_says_it_must_be_reset(tmp_path: Path, tiny_model: Path) -> None:
    from soundsift.errors import CheckpointError
    from soundsift.plugin_host import TextSeparate
    from soundsift.plugin_host.streaming import StreamFailedError

    stage = TextSeparate("rain", model=str(tmp_path / "missing"), segment_seconds=0.25)
    block = np.zeros((1, SR // 2), np.float32)
    with pytest.raises(CheckpointError):
        stage(block, SR, reset=False)
    stage.model = str(tiny_model)
    with pytest.raises(StreamFailedError, match=r"stopped at an earlier error \(.*missing.*\); call reset\(\)"):
        stage(block, SR, reset=False)
    stage.reset()
    assert stage(block, SR, reset=False).shape == (1, SR // 2 - SR // 4)


# LAION-CLAP checkpoints that are not plain weights


class _CallsAFunction:
    """Pickles as a call of os.getcwd: what a hostile checkpoint would do with a worse function."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        import os

        return os.getcwd, ()


@pytest.mark.parametrize("payload", ["function", "object"])
def test_laion_refusal_names_the_reason_without_torchs_advice(tmp_path: Path, payload: str) -> None:
    import fractions
    import pickle

    import torch

    from soundsift.errors import CheckpointError
    from soundsift.model.encoders.laion_package import read_checkpoint

    path = tmp_path / "clap.pt"
    if payload == "function":
        path.write_bytes(pickle.dumps({"state_dict": _CallsAFunction()}, protocol=2))
        refused = ("posix.getcwd", "nt.getcwd")
    else:
        torch.save({"state_dict": {"w": torch.ones(1)}, "note": fractions.Fraction(1, 3)}, path)
        refused = ("fractions.Fraction",)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "weights_only" not in message and "add_safe_globals" not in message
    assert f"{path}: cannot be read as weights only (it refers to " in message
    assert any(name in message for name in refused)


# config.json of a model


def hostile_copy(model: Path, tmp_path: Path, section: str, key: str, value: object) -> Path:
    """A copy of ``model`` whose config.json sets ``section.key`` to ``value``."""
    import json
    import shutil

    target = shutil.copytree(model, tmp_path / "hostile")
    config = json.loads((target / "config.json").read_text())
    config[section][key] = value
    (target / "config.json").write_text(json.dumps(config))
    return target


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("network", "max_channels", 10**9, r"config.network.max_channels must be from 1 to 1024, got 1000000000"),
    ("network", "depth", 1000, r"config.network.depth must be from 1 to 10, got 1000"),
    ("network", "depth", "six", r"config.network.depth must be a whole number, got 'six'"),
    ("network", "base_channels", 16.5, r"config.network.base_channels must be a whole number, got 16.5"),
    ("network", "late_fusion", "yes", r"config.network.late_fusion must be true or false, got 'yes'"),
    ("network", "decoder_width", 0, r"config.network.decoder_width must be from 0.001 to 1, got 0"),
    ("stft", "n_fft", -1, r"config.stft.n_fft must be from 16 to 16384, got -1"),
    ("stft", "hop_length", 4096, r"config.stft.hop_length must be at most n_fft \(1022\), got 4096"),
    ("stft", "sample_rate", 10**12, r"config.stft.sample_rate must be from 8000 to 192000"),
    ("encoder", "options", "compact", r"config.encoder.options must be a mapping, got 'compact'"),
    ("encoder", "name", 7, r"config.encoder.name must be text, got 7"),
])
def test_hostile_config_is_refused_before_anything_is_built(
    tiny_model: Path, tmp_path: Path, section: str, key: str, value: object, message: str
) -> None:
    from soundsift.errors import CheckpointError
    from soundsift.model.checkpoint import load_checkpoint

    model = hostile_copy(tiny_model, tmp_path, section, key, value)
    with pytest.raises(CheckpointError, match=rf"^{model / 'config.json'}: {message}"):
        load_checkpoint(model)


def test_hostile_config_is_one_line_from_the_cli(tiny_model: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    model = hostile_copy(tiny_model, tmp_path, "network", "max_channels", 10**9)
    src = tmp_path / "in.wav"
    soundfile.write(src, np.zeros(SR, np.float32), SR)
    assert main(["separate", str(src), "-q", "rain", "--model", str(model), "-o", str(tmp_path / "out")]) == 1
    assert "max_channels must be from 1 to 1024" in one_error_line(capsys)


def test_config_of_a_huge_network_with_small_weights_is_refused_before_allocating(tiny_model: Path,
                                                                                   tmp_path: Path) -> None:
    import json
    import shutil

    from soundsift.errors import CheckpointError
    from soundsift.model.checkpoint import load_checkpoint

    model = shutil.copytree(tiny_model, tmp_path / "huge")
    config = json.loads((model / "config.json").read_text())
    config["network"].update(base_channels=512, max_channels=1024, depth=8, blocks_per_level=4)  # ~1.5 G parameters
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="weights do not match config.json"):
        load_checkpoint(model)


def test_weight_shape_mismatch_is_summarised_in_one_line(tiny_model: Path, tmp_path: Path) -> None:
    from soundsift.errors import CheckpointError
    from soundsift.model.checkpoint import load_checkpoint

    model = hostile_copy(tiny_model, tmp_path, "network", "base_channels", 8)  # same tensors, other shapes
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(model)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400
    assert message.startswith(f"{model / 'model.safetensors'}: weights do not match config.json (tensors: ")
    assert "of another shape, e.g. " in message and "where config.json has (" in message


# training recipes


RECIPE = 'regime = "weak"\n[data]\ncorpora = ["data/music"]\nsources_per_part = 2\n'


@pytest.mark.parametrize(("extra", "message"), [
    ('[model]\nencoder = "compact"\n', r"recipe.toml.model.encoder: expected a table, got 'compact'"),
    ('[model.network]\ndepth = "six"\n', r"recipe.toml.model.network: depth must be a whole number, got 'six'"),
    ("[optim]\nlr = nan\n", r"recipe.toml.optim: lr must be a finite number, got nan"),
    ("[optim]\nsteps = 2e3\n", r"recipe.toml.optim: steps must be a whole number, got 2000.0"),
    ('[optim]\nrestarts = ["500"]\n', r"recipe.toml.optim: restarts must be a list, each item a whole number"),
    ('[loss]\nclauses = "2"\n', r"recipe.toml.loss: clauses must be a whole number, got '2'"),
    ("[model.stft]\nn_fft = -1\n", r"recipe.toml.model.stft: n_fft must be from 16 to 16384, got -1"),
    ("[model]\ndescription = 3\n", r"recipe.toml.model: description must be text, got 3"),
])
def test_recipe_with_a_wrong_type_names_the_key(tmp_path: Path, extra: str, message: str) -> None:
    from soundsift.training.recipe import RecipeError, load_recipe

    path = write(tmp_path / "recipe.toml", RECIPE + extra)
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


def test_recipe_with_corpora_as_one_string_names_the_key(tmp_path: Path) -> None:
    from soundsift.training.recipe import RecipeError, load_recipe

    path = write(tmp_path / "recipe.toml", 'regime = "weak"\n[data]\ncorpora = "data/music"\nsources_per_part = 2\n')
    with pytest.raises(RecipeError, match=r"recipe.toml.data: corpora must be a list, each item text, got 'data/music'"):
        load_recipe(path)


def test_a_valid_recipe_still_loads_with_ints_for_floats(tmp_path: Path) -> None:
    from soundsift.training.recipe import load_recipe

    recipe = load_recipe(write(tmp_path / "recipe.toml", RECIPE + "[optim]\nlr = 1\nrestarts = []\n"))
    assert recipe.optim.lr == 1 and recipe.data.corpora == (str(tmp_path / "data/music"),)
