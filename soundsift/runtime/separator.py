"""The ONNX Runtime engine's separator: the same facade as :class:`soundsift.separator.Separator`, without torch.

Per segment: downmix and resample to the model rate (:mod:`soundsift.core.segment_resample`,
as the torch engine does), the model-rate STFT magnitude, the encoder graph once, the
decoder graph per query, the masks carried onto each channel's native-rate STFT, and the
inverse STFT, all in numpy and onnxruntime.  The native STFTs (one task per channel) run on
a thread pool while the segment is resampled, and the inverse STFTs (one per query and
channel) share the pool; numpy's FFT releases the GIL.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from soundsift.audio import downmix
from soundsift.confidence import pool_token_states
from soundsift.core.chunked import BatchFn
from soundsift.core.config import STFTConfig
from soundsift.core.model_dir import WEIGHTS_FILE, read_config
from soundsift.core.segment_resample import resample_segment
from soundsift.core.store import resolve_model
from soundsift.errors import CheckpointError, InvalidArgumentError
from soundsift.model.encoders.compact_onnx import OnnxTextEncoder
from soundsift.queries import AUDIO_QUERY_HELP, QueryLike
from soundsift.runtime.dsp import GridProjector, istft, stft
from soundsift.runtime.layout import ONNX_DIR, TEXT_DIR, ExportRecord, file_sha256
from soundsift.runtime.network import OnnxNetwork, OnnxQuery
from soundsift.runtime.sessions import providers_for
from soundsift.separation import SegmentSeparator
from soundsift.vocabulary import read_vocabulary


def model_magnitude(wave: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """Network input: the model-rate STFT magnitude. Shape: (B, samples) -> (B, bins, frames) float32."""
    return np.ascontiguousarray(np.abs(stft(wave, cfg.n_fft, cfg.hop_length)).transpose(0, 2, 1))


class OnnxSeparator(SegmentSeparator):
    """A model loaded on ONNX Runtime.

    Example:
        >>> sep = OnnxSeparator.load("path/to/model")                    # doctest: +SKIP
        >>> stems = sep.separate("mix.wav", ["violin", "a dog barking"])  # doctest: +SKIP
    """

    def __init__(self, directory: Path, device: str = "auto", threads: int | None = None, name: str = "") -> None:
        self.config = read_config(directory)
        folder = directory / ONNX_DIR
        record = ExportRecord.read(folder)
        _check_record(directory, record, self.config.to_dict())
        providers = providers_for(device)
        self.network = OnnxNetwork(folder, record, providers, threads)
        self.text = OnnxTextEncoder(folder / TEXT_DIR, providers)
        if self.text.fingerprint() != self.config.encoder.fingerprint:
            raise CheckpointError(f"{folder / TEXT_DIR}: text tower fingerprint {self.text.fingerprint()} is not the "
                                  f"model's query encoder ({self.config.encoder.fingerprint}); export the model again")
        self.device = self.network.device
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1, thread_name_prefix="soundsift-dsp")
        self.name = name or directory.name
        self._cross_attention = "tokens" in record.query_inputs
        self._query_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.vocabulary = read_vocabulary(directory)

    @classmethod
    def load(cls, name_or_path: str | Path | None = None, device: str = "auto", threads: int | None = None
             ) -> OnnxSeparator:
        """Load a model by name (``None`` for the default) or directory; it must hold an ONNX export.

        ``device``: auto (the CUDA provider when installed, else the CPU), cpu or cuda.
        ``threads``: onnxruntime intra-op threads (None: its default, one per physical core).
        """
        path = resolve_model(name_or_path)
        return cls(path, device, threads, name=str(name_or_path or path.name))

    def confidence_vectors(self, texts: list[str]) -> np.ndarray:
        """The exported text tower's token states of each text, pooled (see :class:`SegmentSeparator`)."""
        return pool_token_states(*self.text.token_states(list(texts)))

    def encode_queries(self, queries: Sequence[QueryLike]) -> OnnxQuery:
        """Embed queries once; results are cached per text for the life of the separator.

        Audio queries are refused with a clear error: the export carries the text tower only.
        """
        if not all(isinstance(q, str) for q in queries):
            raise InvalidArgumentError(AUDIO_QUERY_HELP)
        todo = [q for q in queries if q not in self._query_cache]
        if todo:
            embedding = self.text.encode_text(todo)
            if self._cross_attention:
                tokens, padding = self.text.token_states(todo)
            else:
                tokens, padding = np.zeros((len(todo), 1, 1), np.float32), np.zeros((len(todo), 1), bool)
            for i, q in enumerate(todo):
                keep = ~padding[i]
                self._query_cache[q] = (embedding[i], tokens[i][keep])
        parts = [self._query_cache[q] for q in queries]
        length = max(len(p[1]) for p in parts)
        tokens = np.zeros((len(parts), length, parts[0][1].shape[-1]), np.float32)
        padding = np.ones((len(parts), length), bool)
        for i, (_, states) in enumerate(parts):
            tokens[i, : len(states)] = states
            padding[i, : len(states)] = False
        return OnnxQuery(np.stack([p[0] for p in parts]), tokens, padding)

    def _segment_fn(self, sample_rate: int, queries: list[QueryLike], segment: int) -> BatchFn:
        """Per-batch extraction: list of (channels, L) native segments -> list of (queries, channels, L) stems."""
        query = self.encode_queries(queries)
        cfg = self.config.stft
        projector = _projector(cfg, sample_rate)
        model_len = round(segment * cfg.sample_rate / sample_rate)

        def extract(chunks: list[np.ndarray]) -> list[np.ndarray]:
            specs = [[self._pool.submit(stft, channel[None], projector.n_fft, projector.hop_length)
                      for channel in chunk] for chunk in chunks]
            mono = np.zeros((len(chunks), model_len), dtype=np.float32)
            for row, chunk in zip(mono, chunks):
                wave = resample_segment(downmix(chunk), sample_rate, cfg.sample_rate)
                row[: wave.size] = wave
            masks = self.network.masks(model_magnitude(mono, cfg), query)
            return [self._apply(spec, chunk.shape[1], mask, projector) for spec, chunk, mask in zip(specs, chunks, masks)]

        return extract

    def _apply(self, spec: list[Future[np.ndarray]], length: int, masks: np.ndarray, projector: GridProjector
               ) -> np.ndarray:
        """Masks (Q, bins, frames) onto each channel's native STFT (1, frames, bins) -> stems (Q, channels, L)."""
        channels = [future.result() for future in spec]
        bands = projector.bands(masks, channels[0].shape[1]).shares()
        out = np.empty((len(masks), len(channels), length), dtype=np.float32)

        def synthesize(q: int, c: int) -> None:
            out[q, c] = istft(bands.apply(channels[c], q), projector.n_fft, projector.hop_length, length)[0]

        tasks = [self._pool.submit(synthesize, q, c) for q in range(len(masks)) for c in range(len(channels))]
        for task in tasks:
            task.result()
        return out


@functools.lru_cache(maxsize=16)
def _projector(cfg: STFTConfig, sample_rate: int) -> GridProjector:
    return GridProjector(cfg, sample_rate)


def _check_record(directory: Path, record: ExportRecord, config: dict[str, object]) -> None:
    """Refuse an export whose config or weights are not the model directory's."""
    keys = ("stft", "network", "encoder", "architecture")
    if any(record.config.get(k) != config.get(k) for k in keys):
        raise CheckpointError(f"{directory}: the ONNX export was made from a different config.json; "
                              "run 'soundsift export-onnx' again")
    weights = directory / WEIGHTS_FILE
    if weights.is_file() and file_sha256(weights) != record.weights_sha256:
        raise CheckpointError(f"{directory}: the ONNX export was made from other weights than {WEIGHTS_FILE}; "
                              "run 'soundsift export-onnx' again")
