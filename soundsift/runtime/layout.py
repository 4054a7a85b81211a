"""Where a model directory keeps its ONNX export, and the record that ties the export to its weights.

Written by :mod:`soundsift.export_onnx`, read by the runtime::

    MODEL/onnx/encoder.onnx     log-magnitudes (and, with film_encoder, embeddings) -> encoder features
    MODEL/onnx/decoder.onnx     encoder features + one query per row -> sigmoid masks
    MODEL/onnx/network.json     the record below
    MODEL/onnx/text/            the query encoder's text tower (soundsift.model.encoders.compact_export)

The record names the graphs' inputs and outputs and stores the model's config and the
sha256 of the ``model.safetensors`` it was exported from, so that an export left behind
by a retrained model is refused instead of silently run.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from soundsift.errors import CheckpointError

ONNX_DIR = "onnx"
ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
RECORD_FILE = "network.json"
TEXT_DIR = "text"
FORMAT = 1


@dataclass(frozen=True)
class ExportRecord:
    """What ``network.json`` says about an export."""

    config: dict[str, Any]
    weights_sha256: str
    features: list[str]
    encoder_inputs: list[str]
    query_inputs: list[str]
    opset: int
    format: int = FORMAT
    broadcast_features: bool = False

    @property
    def encoder_takes_query(self) -> bool:
        """True when the encoder half is conditioned (film_encoder) and runs once per query."""
        return "embedding" in self.encoder_inputs

    def write(self, directory: Path) -> None:
        (directory / RECORD_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> ExportRecord:
        path = directory / RECORD_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{directory.parent}: no ONNX export; run 'soundsift export-onnx' on the model") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: unreadable ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not an ONNX export record of format {FORMAT}; export the model again")
        try:
            return cls(**data)
        except TypeError as exc:
            raise CheckpointError(f"{path}: malformed ({exc})") from None


def has_onnx_export(model_dir: str | Path) -> bool:
    """True when ``model_dir`` holds an ONNX export (its files, not yet checked against the weights)."""
    folder = Path(model_dir) / ONNX_DIR
    return all((folder / name).is_file() for name in (ENCODER_FILE, DECODER_FILE, RECORD_FILE))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
