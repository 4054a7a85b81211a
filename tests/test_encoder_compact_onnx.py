"""The compact encoder's text tower exported to ONNX: parity with torch, and a runtime without torch."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import soundsift
from soundsift.core import EncoderSpec
from soundsift.errors import CheckpointError
from soundsift.model.encoders import build_encoder
from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.compact_export import export_text_onnx
from soundsift.model.encoders.compact_onnx import META_FILE, OnnxTextEncoder

TEXTS = ["fiddle", "a person talking", "the sound of a violin played softly in a large hall", "rain", "x"]

# Runs the ONNX text encoder with torch and transformers made unimportable.  The soundsift
# packages are stood in by empty packages so that their __init__ files (which load the torch
# engine) do not run: what is checked is that the runtime modules themselves need no torch.
TORCH_FREE = """
import importlib.abc, json, sys, types
from pathlib import Path
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "sentence_transformers"}:
            raise ImportError(f"{name} imported by the torch-free runtime")
        return None
sys.meta_path.insert(0, Block())
root = Path(sys.argv[1])
for name, folder in [("soundsift", root), ("soundsift.model", root / "model"),
                     ("soundsift.model.encoders", root / "model" / "encoders")]:
    package = types.ModuleType(name)
    package.__path__ = [str(folder)]
    sys.modules[name] = package
from soundsift.model.encoders.compact_onnx import OnnxTextEncoder
encoder = OnnxTextEncoder(sys.argv[2])
print(json.dumps({"embedding": encoder.encode_text(json.loads(sys.argv[3])).tolist(),
                  "fingerprint": encoder.fingerprint()}))
"""


@pytest.fixture(scope="module")
def encoder() -> CompactClapEncoder:
    built = build_encoder(EncoderSpec(name="compact"))
    assert isinstance(built, CompactClapEncoder)
    return built


@pytest.fixture(scope="module")
def exported(encoder: CompactClapEncoder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_text_onnx(encoder, tmp_path_factory.mktemp("onnx") / "compact-text")


def test_onnx_matches_torch(encoder: CompactClapEncoder, exported: Path) -> None:
    runtime = OnnxTextEncoder(exported)
    assert runtime.fingerprint() == encoder.fingerprint() and runtime.dim == encoder.dim
    embedding = runtime.encode_text(TEXTS)
    assert embedding.shape == (len(TEXTS), 384) and embedding.dtype == np.float32
    assert np.abs(embedding - encoder.encode_text(TEXTS).numpy()).max() <= 1e-5
    states, padding = runtime.token_states(TEXTS)
    torch_states, torch_padding = encoder.token_states(TEXTS)
    assert np.array_equal(padding, torch_padding.numpy())
    assert np.abs(states[~padding] - torch_states.numpy()[~padding]).max() <= 1e-4


def test_runtime_needs_no_torch(encoder: CompactClapEncoder, exported: Path) -> None:
    package = Path(soundsift.__file__).parent
    result = subprocess.run([sys.executable, "-c", TORCH_FREE, str(package), str(exported), json.dumps(TEXTS)],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["fingerprint"] == encoder.fingerprint()
    assert np.abs(np.array(out["embedding"]) - encoder.encode_text(TEXTS).numpy()).max() <= 1e-5


def test_clear_errors(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="text.onnx: missing"):
        OnnxTextEncoder(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in exported.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / META_FILE).write_text(json.dumps({"encoder": "laion", "fingerprint": "x", "dim": 1, "max_length": 8}))
    with pytest.raises(CheckpointError, match="exported from encoder 'laion'"):
        OnnxTextEncoder(broken)
    (broken / META_FILE).write_text("{}")
    with pytest.raises(CheckpointError, match="missing"):
        OnnxTextEncoder(broken)


def test_export_reads_minilm_from_its_wheel(exported: Path, tmp_path: Path) -> None:
    meta = json.loads((exported / META_FILE).read_text())
    assert (exported / "text.onnx").stat().st_size < 5e6 and len(meta["minilm"]["inputs"]) > 90
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in exported.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    meta["minilm"]["identity"] = "0" * 16
    (broken / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="exported against MiniLM files"):
        OnnxTextEncoder(broken)
