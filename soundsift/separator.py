"""The public facade: load a model once, then separate arrays or files by text queries.

Every entry point converts its input into a stream of native-rate blocks and calls
:meth:`Separator.iter_separate`, the one engine path.  Per segment the work that does not
depend on the query (downmix, resampling, both STFTs, and the U-Net encoder) runs once,
and all queries are decoded as one batch.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundsift.audio import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    AtomicAudioWriter,
    AudioReader,
    check_audio_array,
    downmix,
    resample,
)
from soundsift.errors import AudioError, InvalidArgumentError
from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.chunked import CancelCheck, ProgressCallback, SegmentPlan, chunked
from soundsift.model.config import STFTConfig
from soundsift.model.encoders import QueryEncoder
from soundsift.model.frontend import MaskProjector, istft, stft
from soundsift.model.network import SeparatorNetwork, pad_to
from soundsift.model.store import resolve_model
from soundsift.model.unet import Query

MODES = ("extract", "remove")
REST = "rest"


@dataclass(frozen=True)
class SeparationOptions:
    """How a separation runs. ``mode='remove'`` returns, per query, the input minus that sound.

    In both modes ``rest`` is the input with every queried sound taken out, so in extract
    mode the stems plus ``rest`` add up to the input exactly.
    """

    mode: str = "extract"
    segment_seconds: float = 10.0
    overlap: float = 0.25
    include_rest: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {MODES}, got '{self.mode}'")
        if self.segment_seconds <= 0:
            raise InvalidArgumentError(f"segment length must be positive, got {self.segment_seconds} s")
        if not 0 <= self.overlap <= 0.5:
            raise InvalidArgumentError(f"overlap must be a fraction in [0, 0.5], got {self.overlap}")

    def plan(self, total: int, sample_rate: int) -> SegmentPlan:
        """Segment layout in native samples for a ``total``-sample input."""
        segment = max(1, round(self.segment_seconds * sample_rate))
        return SegmentPlan(total, segment, min(round(self.overlap * segment), segment // 2))


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' (or None) means CUDA when available, else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise InvalidArgumentError(f"unknown device '{device}'; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here")
    return device


def check_queries(queries: Sequence[str] | str) -> list[str]:
    """Validate queries: a non-empty list of distinct, non-blank strings other than 'rest'."""
    items = [queries] if isinstance(queries, str) else list(queries)
    if not items:
        raise InvalidArgumentError("at least one query is needed")
    cleaned = []
    for q in items:
        if not isinstance(q, str) or not q.strip():
            raise InvalidArgumentError(f"queries must be non-empty text, got {q!r}")
        cleaned.append(q.strip())
    if len(set(cleaned)) != len(cleaned):
        raise InvalidArgumentError(f"queries must be distinct, got {cleaned}")
    if REST in cleaned:
        raise InvalidArgumentError(f"'{REST}' is the name of the residual stem and cannot be a query")
    return cleaned


class Separator:
    """A loaded separator model.

    Example:
        >>> sep = Separator.load("path/to/model")                        # doctest: +SKIP
        >>> stems = sep.separate("mix.wav", ["violin", "a dog barking"])  # doctest: +SKIP
        >>> stems["violin"].shape, stems["rest"].shape                     # doctest: +SKIP
    """

    def __init__(self, network: SeparatorNetwork, encoder: QueryEncoder, device: torch.device, name: str = "") -> None:
        self.network = network.to(device).eval()
        self.encoder = encoder.to(device).eval()
        self.device = device
        self.name = name
        self.config = network.config
        self._query_cache: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        device: str | torch.device = "auto",
        encoder_options: Mapping[str, Any] | None = None,
    ) -> Separator:
        """Load a model by name (``None`` for the default) or from a model directory.

        ``encoder_options`` override the query encoder's recorded options, for encoders whose
        files live elsewhere on this machine (the weights fingerprint is still checked).
        """
        path = resolve_model(name_or_path)
        dev = resolve_device(device)
        network, encoder = load_checkpoint(path, dev, encoder_options)
        return cls(network, encoder, dev, name=str(name_or_path or path.name))

    def encode_queries(self, queries: Sequence[str]) -> Query:
        """Embed queries once; results are cached per text for the life of the separator."""
        todo = [q for q in queries if q not in self._query_cache]
        if todo:
            with torch.inference_mode():
                emb = self.encoder.encode_text(todo).to(self.device)
                tokens, padding = self.encoder.token_states(todo)
            for i, q in enumerate(todo):
                self._query_cache[q] = (emb[i], tokens[i].to(self.device), padding[i].to(self.device))
        parts = [self._query_cache[q] for q in queries]
        length = max(p[1].shape[0] for p in parts)
        tokens = torch.stack([torch.nn.functional.pad(p[1], (0, 0, 0, length - p[1].shape[0])) for p in parts])
        padding = torch.stack(
            [torch.nn.functional.pad(p[2], (0, length - p[2].shape[0]), value=True) for p in parts]
        )
        return Query(torch.stack([p[0] for p in parts]), tokens, padding)

    def _segment_fn(self, sample_rate: int, query: Query, segment: int) -> Callable[[np.ndarray], np.ndarray]:
        """Per-segment extraction: (channels, L) native -> (queries, channels, L) stems."""
        stft_cfg = self.config.stft
        projector = _projector(stft_cfg, sample_rate)
        model_len = round(segment * stft_cfg.sample_rate / sample_rate)

        def extract(chunk: np.ndarray) -> np.ndarray:
            channels, length = chunk.shape
            mono = resample(downmix(chunk)[None], sample_rate, stft_cfg.sample_rate)
            with torch.inference_mode():
                wave = pad_to(torch.from_numpy(mono).to(self.device), model_len)
                masks = self.network.masks(wave, query)[0]
                spec = stft(torch.from_numpy(chunk).to(self.device), projector.n_fft, projector.hop_length)
                native = projector.project(masks, spec.shape[-1])
                masked = (native[:, None] * spec[None]).reshape(-1, *spec.shape[-2:])
                stems = istft(masked, projector.n_fft, projector.hop_length, length)
            return stems.reshape(-1, channels, length).cpu().numpy()

        return extract

    def iter_separate(
        self,
        blocks: Iterable[np.ndarray],
        sample_rate: int,
        channels: int,
        total: int,
        queries: Sequence[str],
        options: SeparationOptions = SeparationOptions(),
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """The engine: yield consecutive finished regions as ``{stem name: (channels, n)}``."""
        queries = check_queries(queries)
        plan = options.plan(total, sample_rate)
        fn = self._segment_fn(sample_rate, self.encode_queries(queries), plan.segment)
        for inp, out in chunked(blocks, plan, channels, fn, progress, cancel):
            yield _name_stems(queries, inp, out, options)

    def separate(
        self,
        audio_or_path: np.ndarray | str | Path,
        queries: Sequence[str] | str,
        sample_rate: int | None = None,
        mode: str = "extract",
        options: SeparationOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> dict[str, np.ndarray]:
        """Separate an array (with ``sample_rate``) or a file into one stem per query plus ``rest``.

        Arrays are ``(channels, samples)`` or 1-D mono.  Returns ``{name: (channels, samples)}``
        at the input's own rate and channel count.  ``options`` (segment length, overlap,
        whether to return ``rest``) overrides ``mode`` when given.
        """
        options = options or SeparationOptions(mode=mode)
        parts: dict[str, list[np.ndarray]] = {}
        with _open_source(audio_or_path, sample_rate) as source:
            for region in self.iter_separate(
                source.blocks(), source.sample_rate, source.channels, source.frames, queries, options, progress, cancel
            ):
                for name, block in region.items():
                    parts.setdefault(name, []).append(block)
        return {name: np.concatenate(blocks, axis=1) for name, blocks in parts.items()}

    def separate_file(
        self,
        path: str | Path,
        outputs: Mapping[str, Path],
        options: SeparationOptions = SeparationOptions(),
        bit_depth: str = "24",
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> list[Path]:
        """Stream a file through the engine into one file per stem, in bounded memory.

        ``outputs`` maps each query (and ``rest`` when wanted) to its output path.  Files
        appear only when the whole separation succeeded; on any error none is written.
        """
        queries = [name for name in outputs if name != REST]
        options = dataclasses.replace(options, include_rest=REST in outputs)
        with AudioReader(path) as reader:
            writers = {n: AtomicAudioWriter(p, reader.sample_rate, reader.channels, bit_depth) for n, p in outputs.items()}
            try:
                for region in self.iter_separate(
                    reader.blocks(), reader.sample_rate, reader.channels, reader.frames, queries, options, progress, cancel
                ):
                    for name, block in region.items():
                        writers[name].write(block)
            except BaseException:
                for writer in reversed(list(writers.values())):
                    writer.abort()
                raise
        return [writer.commit() for writer in writers.values()]


@functools.lru_cache(maxsize=16)
def _projector(stft_cfg: STFTConfig, sample_rate: int) -> MaskProjector:
    return MaskProjector(stft_cfg, sample_rate)


def _name_stems(queries: list[str], inp: np.ndarray, out: np.ndarray, options: SeparationOptions) -> dict[str, np.ndarray]:
    """Turn per-query extractions into the named stems of the chosen mode."""
    if options.mode == "extract":
        stems = {q: out[i] for i, q in enumerate(queries)}
    else:
        stems = {q: inp - out[i] for i, q in enumerate(queries)}
    if options.include_rest:
        stems[REST] = inp - out.sum(axis=0)
    return stems


class _ArraySource:
    """An in-memory array presented like an :class:`AudioReader`."""

    def __init__(self, audio: np.ndarray, sample_rate: int) -> None:
        self.audio = audio
        self.sample_rate = sample_rate
        self.channels, self.frames = audio.shape

    def blocks(self, block_size: int = 1 << 20) -> Iterator[np.ndarray]:
        for start in range(0, self.frames, block_size):
            yield self.audio[:, start : start + block_size]

    def __enter__(self) -> _ArraySource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _open_source(audio_or_path: np.ndarray | str | Path, sample_rate: int | None) -> AudioReader | _ArraySource:
    if isinstance(audio_or_path, (str, Path)):
        return AudioReader(audio_or_path)
    if sample_rate is None:
        raise InvalidArgumentError("sample_rate is required when separating an array")
    audio = check_audio_array(audio_or_path)
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError("<array>", f"sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    return _ArraySource(audio, int(sample_rate))
