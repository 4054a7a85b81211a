"""The ONNX export and the ONNX Runtime engine: parity with torch, no torch at run time, engine choice, errors."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from soundsift.cli import main
from soundsift.core import EncoderSpec, ModelConfig
from soundsift.engines import choose_engine, load_separator
from soundsift.errors import CheckpointError, InvalidArgumentError
from soundsift.export_onnx import export_onnx
from soundsift.model import init_model, load_checkpoint, save_checkpoint
from soundsift.runtime import OnnxSeparator, has_onnx_export
from soundsift.runtime.separator import model_magnitude
from soundsift.separation import SeparationOptions
from soundsift.separator import Separator
from tests.conftest import TINY, test_signal, write_test_file

VARIANTS = {
    "conditioned": {"film_encoder": True, "cross_attention": True, "attention_heads": 2, "learned_queries": 2},
    "shallow": {"depth": 2, "base_channels": 6, "max_channels": 12, "blocks_per_level": 2, "fusion_maps": 3},
    "late": {"late_fusion": True, "decoder_width": 0.5},
}
QUERIES = ["violin", "a dog barking in the distance", "rain"]


def make_onnx_model(directory: Path, seed: int = 0, **network: object) -> Path:
    """A tiny seeded model with the compact encoder, exported to ONNX in its own directory."""
    config = ModelConfig(network=dataclasses.replace(TINY, **network), encoder=EncoderSpec(name="compact"))
    net, enc = init_model(config, seed=seed)
    return export_onnx(save_checkpoint(directory, net, enc))


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_onnx_model(tmp_path_factory.mktemp("onnx") / "tiny", seed=1)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_onnx_model(tmp_path_factory.mktemp("onnx") / request.param, seed=2, **VARIANTS[request.param])


def _masks_both(model: Path, wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the same (B, samples) model-rate waves from both engines, queries encoded by each engine."""
    torch_sep = Separator.load(model, "cpu")
    onnx_sep = OnnxSeparator.load(model, "cpu")
    with torch.inference_mode():
        expected = torch_sep.network.masks(torch.from_numpy(wave), torch_sep.encode_queries(QUERIES)).numpy()
    got = onnx_sep.network.masks(model_magnitude(wave, onnx_sep.config.stft), onnx_sep.encode_queries(QUERIES))
    return expected, got


@pytest.mark.parametrize("seconds", [1.3, 10.0])
def test_masks_match_torch(onnx_model: Path, seconds: float) -> None:
    wave = np.stack([test_signal(16000, 1, seconds, seed=s)[0] for s in (4, 5)])
    expected, got = _masks_both(onnx_model, wave)
    assert got.shape == expected.shape == (2, len(QUERIES), 512, 1 + len(wave[0]) // 256)
    assert np.abs(got - expected).max() <= 1e-4


def test_every_network_option_exports(variant_model: Path) -> None:
    wave = test_signal(16000, 1, 2.7, seed=6)
    expected, got = _masks_both(variant_model, wave)
    assert np.abs(got - expected).max() <= 1e-4


def _sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def _mixture(seed: int, seconds: float = 5.0, rate: int = 44100) -> tuple[np.ndarray, np.ndarray]:
    """A seeded two-source stereo mixture: (mixture, first source), both (2, samples)."""
    tones = test_signal(rate, 2, seconds, seed=seed)
    rng = np.random.default_rng(seed)
    bursts = rng.standard_normal(tones.shape) * (np.sin(np.arange(tones.shape[1]) / rate * 3 * np.pi) > 0.3)
    return (tones + 0.1 * bursts).astype(np.float32), tones


def test_stems_and_sdr_match_torch_on_a_seeded_test_set(onnx_model: Path) -> None:
    options = SeparationOptions(segment_seconds=2.0)
    torch_sep, onnx_sep = Separator.load(onnx_model, "cpu"), OnnxSeparator.load(onnx_model)
    for seed in range(3):
        mixture, source = _mixture(seed)
        expected = torch_sep.separate(mixture, QUERIES[:2], 44100, options=options)
        got = onnx_sep.separate(mixture, QUERIES[:2], 44100, options=options)
        assert set(got) == set(expected) and got["rest"].shape == mixture.shape
        for name in expected:
            assert np.abs(got[name] - expected[name]).max() <= 1e-4
        assert abs(_sdr(source, got[QUERIES[0]]) - _sdr(source, expected[QUERIES[0]])) <= 0.05
        np.testing.assert_allclose(got[QUERIES[0]] + got[QUERIES[1]] + got["rest"], mixture, atol=1e-5)


# Runs the ONNX engine through the real package with torch and transformers made unimportable.
TORCH_FREE = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "sentence_transformers"}:
            raise ImportError(f"{name} imported on the ONNX path")
        return None
sys.meta_path.insert(0, Block())
model, wav, out = sys.argv[1:4]
import numpy as np
import soundsift
from soundsift.cli import main
stems = soundsift.load_model(model, device="cpu").separate(wav, ["violin", "rain"])
code = main(["separate", wav, "-q", "violin", "--model", model, "--engine", "onnx", "-o", out, "--quiet"])
print(json.dumps({"engine": type(soundsift.load_model(model, device="cpu")).__name__, "code": code,
                  "shapes": {k: list(v.shape) for k, v in stems.items()},
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


def test_onnx_engine_imports_no_torch(onnx_model: Path, tmp_path: Path) -> None:
    wav = write_test_file(tmp_path / "mix.wav", test_signal(22050, 2, 2.0), 22050)
    result = subprocess.run([sys.executable, "-c", TORCH_FREE, str(onnx_model), str(wav), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"engine": "OnnxSeparator", "code": 0, "shapes": {"violin": [2, 44100], "rain": [2, 44100],
                                                                       "rest": [2, 44100]},
                   "torch": False, "transformers": False}
    assert (tmp_path / "out" / "mix" / "violin.wav").is_file()


def test_engine_choice(onnx_model: Path, tiny_model: Path) -> None:
    assert has_onnx_export(onnx_model) and not has_onnx_export(tiny_model)
    assert choose_engine(onnx_model, "auto", "cpu") == "onnx"
    assert choose_engine(tiny_model, "auto", "cpu") == "torch"
    assert choose_engine(onnx_model, "torch", "cpu") == "torch"
    assert isinstance(load_separator(onnx_model, "auto", "cpu"), OnnxSeparator)
    assert isinstance(load_separator(onnx_model, "torch", "cpu"), Separator)
    with pytest.raises(InvalidArgumentError, match="unknown engine"):
        choose_engine(onnx_model, "tensorrt")
    with pytest.raises(CheckpointError, match="no ONNX export"):
        load_separator(tiny_model, "onnx", "cpu")
    with pytest.raises(InvalidArgumentError, match="torch engine"):
        load_separator(onnx_model, "onnx", "cpu", encoder_options={"x": 1})


def test_without_a_gpu_cuda_requests_fail_clearly(onnx_model: Path, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InvalidArgumentError, match="onnxruntime-gpu"):
        OnnxSeparator.load(onnx_model, device="cuda")
    assert choose_engine(onnx_model, "auto", "cuda") == "torch"
    with pytest.raises(InvalidArgumentError, match="no CUDA GPU"):
        load_separator(onnx_model, "auto", "cuda")
    with pytest.raises(InvalidArgumentError, match="CUDA device only"):
        load_separator(onnx_model, "torch", "cpu", half=True)
    wav = write_test_file(tmp_path / "mix.wav", test_signal(16000, 1, 1.0), 16000)
    assert main(["separate", str(wav), "-q", "violin", "--model", str(onnx_model), "--device", "cuda",
                 "--engine", "onnx", "-o", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


def test_segment_batches_give_the_same_stems(tiny_model: Path) -> None:
    audio = test_signal(16000, 2, 7.0, seed=8)
    sep = Separator.load(tiny_model, "cpu")
    one = sep.separate(audio, ["violin"], 16000, options=SeparationOptions(segment_seconds=1.5, segment_batch=1))
    three = sep.separate(audio, ["violin"], 16000, options=SeparationOptions(segment_seconds=1.5, segment_batch=3))
    np.testing.assert_allclose(three["violin"], one["violin"], atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="segment batch"):
        SeparationOptions(segment_batch=0)


def test_stale_or_foreign_exports_are_refused(onnx_model: Path, tmp_path: Path) -> None:
    retrained = shutil.copytree(onnx_model, tmp_path / "retrained")
    net, enc = load_checkpoint(retrained)
    with torch.no_grad():
        net.net.fusion_bias.add_(1.0)
    save_checkpoint(tmp_path / "staging", net, enc)
    shutil.copyfile(tmp_path / "staging" / "model.safetensors", retrained / "model.safetensors")
    with pytest.raises(CheckpointError, match="other weights"):
        OnnxSeparator.load(retrained)
    edited = shutil.copytree(onnx_model, tmp_path / "edited")
    config = json.loads((edited / "config.json").read_text())
    config["stft"]["hop_length"] = 128
    (edited / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="different config.json"):
        OnnxSeparator.load(edited)


def test_export_needs_the_compact_encoder(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="'compact' query encoder only"):
        export_onnx(tiny_model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_export_to_a_new_directory_then_separate_on_both_engines(onnx_model: Path, tmp_path: Path) -> None:
    source = shutil.copytree(onnx_model, tmp_path / "source", ignore=shutil.ignore_patterns("onnx"))
    assert main(["export-onnx", str(source), "-o", str(tmp_path / "exported")]) == 0
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == ["config.json", "model.safetensors", "onnx"]
    assert not has_onnx_export(source)
    wav = write_test_file(tmp_path / "mix.wav", test_signal(44100, 2, 3.0, seed=3), 44100)
    for engine in ("onnx", "torch"):
        assert main(["separate", str(wav), "-q", "violin", "--model", str(tmp_path / "exported"), "--engine", engine,
                     "--bit-depth", "32f", "-o", str(tmp_path / engine), "--quiet"]) == 0
    import soundfile

    onnx_stem, _ = soundfile.read(tmp_path / "onnx" / "mix" / "violin.wav")
    torch_stem, _ = soundfile.read(tmp_path / "torch" / "mix" / "violin.wav")
    assert np.abs(onnx_stem - torch_stem).max() <= 1e-4
