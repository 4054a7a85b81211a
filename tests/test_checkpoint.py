"""Checkpoint directories: round trip, model names, and refusal of unsafe or mismatched files."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from soundsift import Separator
from soundsift.core import read_config, resolve_model
from soundsift.core.model_dir import CONFIG_FILE, WEIGHTS_FILE
from soundsift.errors import CheckpointError, NoDefaultModelError
from soundsift.model import load_checkpoint, save_checkpoint
from tests.conftest import make_model, test_signal


def test_round_trip_gives_identical_outputs(tmp_path, tiny_model):
    net, enc = load_checkpoint(tiny_model)
    copy = save_checkpoint(tmp_path / "copy", net, enc)
    assert sorted(p.name for p in copy.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    x = test_signal(22050, 2, 1.5)
    a = Separator.load(tiny_model, "cpu").separate(x, ["violin"], 22050)
    b = Separator.load(copy, "cpu").separate(x, ["violin"], 22050)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_saving_over_an_existing_model_replaces_it(tmp_path):
    path = make_model(tmp_path / "m", seed=1)
    first = (path / WEIGHTS_FILE).read_bytes()
    make_model(tmp_path / "m", seed=2)
    assert (path / WEIGHTS_FILE).read_bytes() != first
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_torch_save_payload_is_refused(tmp_path, tiny_model, monkeypatch):
    bad = tmp_path / "pickled"
    bad.mkdir()
    (bad / CONFIG_FILE).write_text((tiny_model / CONFIG_FILE).read_text())
    net, _ = load_checkpoint(tiny_model)
    torch.save(net.state_dict(), bad / WEIGHTS_FILE)
    for name in ("load", "loads"):
        monkeypatch.setattr(f"pickle.{name}", lambda *a, **k: pytest.fail("pickle was used on the load path"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was used on the load path"))
    with pytest.raises(CheckpointError, match="pickle payload"):
        load_checkpoint(bad)


def test_pickle_file_instead_of_directory_is_refused(tmp_path, tiny_model):
    net, _ = load_checkpoint(tiny_model)
    path = tmp_path / "model.pt"
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match="pickle checkpoints are refused"):
        load_checkpoint(path)


def test_weights_that_do_not_match_the_config(tmp_path, tiny_model):
    other = make_model(tmp_path / "wider", base_channels=8)
    (other / CONFIG_FILE).write_text((tiny_model / CONFIG_FILE).read_text())
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(other)


def test_garbage_weights_and_config(tmp_path, tiny_model):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable"):
        read_config(bad)
    (bad / CONFIG_FILE).write_text((tiny_model / CONFIG_FILE).read_text())
    (bad / WEIGHTS_FILE).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_checkpoint(bad)


def test_wrong_encoder_fingerprint_is_an_error(tmp_path, tiny_model):
    copy = tmp_path / "other-encoder"
    copy.mkdir()
    (copy / WEIGHTS_FILE).write_bytes((tiny_model / WEIGHTS_FILE).read_bytes())
    cfg = json.loads((tiny_model / CONFIG_FILE).read_text())
    cfg["encoder"]["fingerprint"] = "0123456789abcdef"
    (copy / CONFIG_FILE).write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="fingerprint"):
        load_checkpoint(copy)
    cfg["encoder"]["name"] = "no-such-encoder"
    (copy / CONFIG_FILE).write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown query encoder"):
        load_checkpoint(copy)


def test_format_version_and_unknown_keys(tmp_path, tiny_model):
    cfg = json.loads((tiny_model / CONFIG_FILE).read_text())
    copy = tmp_path / "future"
    copy.mkdir()
    (copy / CONFIG_FILE).write_text(json.dumps({**cfg, "format_version": 99}))
    with pytest.raises(CheckpointError, match="format_version"):
        read_config(copy)
    (copy / CONFIG_FILE).write_text(json.dumps({**cfg, "retired_option": 1}))
    with pytest.warns(UserWarning, match="retired_option"):
        assert dataclasses.asdict(read_config(copy)) == dataclasses.asdict(read_config(tiny_model))


def test_names_resolve_through_the_model_store(isolated_model_store, tiny_model):
    with pytest.raises(NoDefaultModelError, match="no default model is installed"):
        resolve_model(None)
    with pytest.raises(CheckpointError, match="unknown model 'nope'"):
        resolve_model("nope")
    net, enc = load_checkpoint(tiny_model)
    save_checkpoint(isolated_model_store / "default", net, enc)
    assert resolve_model(None) == isolated_model_store / "default"
    assert Separator.load(None, "cpu").name == "default"


def test_encoder_options_can_be_overridden_but_the_fingerprint_still_holds(tmp_path, tiny_model):
    same = Separator.load(tiny_model, "cpu", encoder_options={"dim": 128})
    assert same.encoder.dim == 128
    with pytest.raises(CheckpointError, match="fingerprint"):
        Separator.load(tiny_model, "cpu", encoder_options={"dim": 64})
