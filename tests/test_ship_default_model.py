"""scripts/ship_default_model.py: a model trained with retrained compact weights is installed with them."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.errors import SoundsiftError
from soundsift.model import init_model, load_checkpoint, save_checkpoint
from soundsift.model.encoders.compact_model import AudioConfig, CompactClap, CompactConfig
from soundsift.model.encoders.compact_weights import write_weights
from soundsift.model.encoders.minilm_files import locate_minilm, minilm_identity
from soundsift.vocabulary import VOCABULARY_FILE
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ship_default_model", ROOT / "scripts" / "ship_default_model.py")
ship_default_model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ship_default_model)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _clap(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    audio = AudioConfig(n_mels=16, channels=(4, 8), time_channels=8, hidden=8)
    return write_weights(folder, CompactClap(CompactConfig(text_model=minilm_identity(locate_minilm()), audio=audio)))


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the package's compact weights folder."""
    folder = _clap(tmp_path / "shipped", seed=0)
    monkeypatch.setattr("soundsift.model.encoders.compact.SHIPPED_DIR", folder)
    monkeypatch.setattr(ship_default_model, "SHIPPED_DIR", folder)
    return folder


def _trained(tmp_path: Path, weights: Path) -> Path:
    """A tiny separator trained (here: initialised) with the compact weights in ``weights``, with a vocabulary."""
    config = ModelConfig(network=TINY, encoder=EncoderSpec(name="compact", options={"weights": str(weights)}))
    model = save_checkpoint(tmp_path / "best", *init_model(config, seed=1))
    shutil.copyfile(ROOT / "soundsift" / "pretrained" / "default" / VOCABULARY_FILE, model / VOCABULARY_FILE)
    return model


def test_a_model_is_installed_with_the_encoder_weights_it_was_trained_with(tmp_path: Path, shipped: Path) -> None:
    retrained = _clap(tmp_path / "clap-all", seed=1)
    model = _trained(tmp_path, retrained)
    recorded = json.loads((model / "config.json").read_text())["encoder"]["fingerprint"]
    target = ship_default_model.ship(model, default_dir=tmp_path / "default", encoder_dir=shipped)
    assert target == tmp_path / "default"
    assert (shipped / "model.safetensors").read_bytes() == (retrained / "model.safetensors").read_bytes()
    encoder = json.loads((target / "config.json").read_text())["encoder"]
    assert encoder["options"] == {"weights": ""} and encoder["fingerprint"] == recorded
    assert (target / VOCABULARY_FILE).is_file() and (target / "onnx").is_dir()
    load_checkpoint(target)  # reads the shipped weights and finds the fingerprint it recorded


def test_encoder_weights_changed_since_training_are_refused(tmp_path: Path, shipped: Path) -> None:
    retrained = _clap(tmp_path / "clap-all", seed=1)
    model = _trained(tmp_path, retrained)
    state = load_file(str(retrained / "model.safetensors"))
    state["log_logit_scale"] = state["log_logit_scale"] + 0.1
    save_file(state, str(retrained / "model.safetensors"))
    before = (shipped / "model.safetensors").read_bytes()
    with pytest.raises(SoundsiftError, match=r"trained with query encoder 'compact' fingerprint \w+, but the installed encoder has"):
        ship_default_model.ship(model, default_dir=tmp_path / "default", encoder_dir=shipped)
    assert (shipped / "model.safetensors").read_bytes() == before and not (tmp_path / "default").exists()


def test_a_model_without_a_vocabulary_is_refused_before_anything_is_written(tmp_path: Path, shipped: Path) -> None:
    model = _trained(tmp_path, _clap(tmp_path / "clap-all", seed=1))
    (model / VOCABULARY_FILE).unlink()
    with pytest.raises(SoundsiftError, match="no vocabulary.json"):
        ship_default_model.ship(model, default_dir=tmp_path / "default", encoder_dir=shipped)
    assert not (tmp_path / "default").exists()
