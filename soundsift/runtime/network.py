"""The separator network on ONNX Runtime: encoder features once per segment, then the decoder per query.

The export splits the U-Net at its bottleneck (:mod:`soundsift.export_onnx`): the encoder
graph maps one segment's log-magnitudes to the skip features and the bottleneck; the
decoder graph maps those features plus a batch of queries to their masks (one query per
call when the decoder cannot broadcast one segment's features over several queries).
Features stay in onnxruntime's memory (IO binding) between the two graphs, on the CPU or
the GPU, so no query costs a copy of them.  When the encoder is itself conditioned
(``film_encoder``) it runs once per batch of queries instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundsift.runtime.layout import DECODER_FILE, ENCODER_FILE, ExportRecord
from soundsift.runtime.sessions import CUDA, open_session

CPU_QUERY_BATCH = 4  # queries per decoder call on the CPU (bounds the activations' memory)
GPU_QUERY_BATCH = 64


@dataclass(frozen=True)
class OnnxQuery:
    """Query conditionings: embeddings ``(Q, D)``, token states ``(Q, L, d)``, padding ``(Q, L)`` True where padded."""

    embedding: np.ndarray
    tokens: np.ndarray
    padding: np.ndarray

    def __len__(self) -> int:
        return int(self.embedding.shape[0])

    def rows(self, start: int, stop: int, names: list[str]) -> dict[str, np.ndarray]:
        """The graph inputs ``names`` for queries ``start:stop``."""
        parts = {"embedding": self.embedding, "tokens": self.tokens, "padding": self.padding}
        return {name: np.ascontiguousarray(parts[name][start:stop]) for name in names}


class OnnxNetwork:
    """Sigmoid ratio masks from model-rate magnitudes, on onnxruntime sessions."""

    def __init__(self, directory: Path, record: ExportRecord, providers: list[str], threads: int | None) -> None:
        self.record = record
        self.encoder = open_session(directory / ENCODER_FILE, providers, threads)
        self.decoder = open_session(directory / DECODER_FILE, providers, threads)
        self.device = "cuda" if self.encoder.get_providers()[0] == CUDA else "cpu"
        self.unit = 2 ** int(record.config["network"]["depth"])
        batched = record.broadcast_features or record.encoder_takes_query
        self.query_batch = (GPU_QUERY_BATCH if self.device == "cuda" else CPU_QUERY_BATCH) if batched else 1

    def masks(self, magnitude: np.ndarray, query: OnnxQuery) -> np.ndarray:
        """Shapes: magnitude (B, bins, frames) float32 -> masks (B, Q, bins, frames) float32."""
        batch, bins, frames = magnitude.shape
        padded = np.pad(magnitude, ((0, 0), (0, -bins % self.unit), (0, -frames % self.unit)))
        out = np.empty((batch, len(query), bins, frames), dtype=np.float32)
        for index in range(batch):
            segment = padded[index : index + 1]
            shared = None if self.record.encoder_takes_query else self._encode({"magnitude": segment})
            for start in range(0, len(query), self.query_batch):
                stop = min(start + self.query_batch, len(query))
                features = shared or self._encode({"magnitude": segment, **query.rows(start, stop, ["embedding"])})
                masks = self._decode(features, query.rows(start, stop, self.record.query_inputs))
                out[index, start:stop] = masks[:, :bins, :frames]
        return out

    def _encode(self, inputs: dict[str, np.ndarray]) -> list[Any]:
        """Encoder features, left in onnxruntime's memory on the session's device (OrtValues)."""
        binding = self.encoder.io_binding()
        for name, value in inputs.items():
            binding.bind_cpu_input(name, value)
        for name in self.record.features:
            binding.bind_output(name, self.device)
        self.encoder.run_with_iobinding(binding)
        return list(binding.get_outputs())

    def _decode(self, features: list[Any], queries: dict[str, np.ndarray]) -> np.ndarray:
        """Masks ``(n, padded bins, padded frames)`` for one segment's features and ``n`` queries."""
        binding = self.decoder.io_binding()
        for name, value in zip(self.record.features, features):
            binding.bind_ortvalue_input(name, value)
        for name, value in queries.items():
            binding.bind_cpu_input(name, value)
        binding.bind_output("mask", "cpu")
        self.decoder.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]
