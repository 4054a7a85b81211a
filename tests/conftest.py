"""Shared fixtures: tiny seeded models made by the tests, and generated audio files."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from pedalboard.io import AudioFile

from soundsift.core import ModelConfig, NetworkConfig
from soundsift.model import init_model, save_checkpoint
from tests.disk_log import disk_log  # noqa: F401 (a fixture for every test file)

TINY = NetworkConfig(base_channels=4, max_channels=16, depth=3, fusion_maps=4)


def make_model(directory: Path, *, mask_logit: float | None = None, seed: int = 0, **network: object) -> Path:
    """Save a tiny seeded model; with ``mask_logit`` its mask is the constant sigmoid(mask_logit)."""
    net_cfg = NetworkConfig(**{**TINY.__dict__, **network})
    net, enc = init_model(ModelConfig(network=net_cfg, description="test model"), seed=seed)
    if mask_logit is not None:
        with torch.no_grad():
            net.net.fusion_scale.zero_()
            net.net.fusion_bias.fill_(mask_logit)
    return save_checkpoint(directory, net, enc)


@pytest.fixture(autouse=True)
def isolated_model_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point soundsift's model search (and user presets) at empty folders, away from the user's and the bundled ones."""
    store = tmp_path_factory.mktemp("models")
    monkeypatch.setenv("SOUNDSIFT_MODELS", str(store))
    monkeypatch.setenv("XDG_DATA_HOME", str(store / "xdg"))
    monkeypatch.setenv("SOUNDSIFT_BUNDLED_MODELS", str(store / "bundled"))
    monkeypatch.setenv("SOUNDSIFT_PRESETS", str(store / "presets"))
    return store


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and far slower with two on a busy machine (use per module)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("m") / "tiny", seed=3)


@pytest.fixture(scope="session")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose every mask is exactly 1.0 (sigmoid(100) in float32)."""
    return make_model(tmp_path_factory.mktemp("m") / "identity", mask_logit=100.0)


@pytest.fixture(scope="session")
def half_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose every mask is exactly 0.5."""
    return make_model(tmp_path_factory.mktemp("m") / "half", mask_logit=0.0)


def test_signal(sample_rate: int, channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Seeded tones plus a little noise, different per channel. Shape: (channels, samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freqs = rng.uniform(110, min(3000, sample_rate / 4), size=channels)
    tones = np.stack([np.sin(2 * np.pi * f * t) for f in freqs])
    return (0.3 * tones + 0.02 * rng.standard_normal(tones.shape)).astype(np.float32)


test_signal.__test__ = False  # a helper, not a test


def write_test_file(path: Path, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """Write ``audio`` in the format the suffix names (wav/flac via soundfile, ogg/mp3 via pedalboard)."""
    suffix = path.suffix.lower()
    if suffix in {".wav", ".flac", ".aiff"}:
        soundfile.write(path, audio.T, sample_rate, subtype=subtype)
    else:
        with AudioFile(str(path), "w", sample_rate, audio.shape[0]) as f:
            f.write(audio)
    return path
