"""What every engine's separator shares: options, query checks, stem naming and the streaming facade.

The torch engine (:class:`soundsift.separator.Separator`) and the ONNX Runtime engine
(:class:`soundsift.runtime.OnnxSeparator`) differ only in how one batch of segments becomes
stems; :class:`SegmentSeparator` holds everything around that (segmenting, cross-fades,
arrays and files in, named stems out).  This module imports no torch, so the ONNX path
stays torch-free.
"""
from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import math
import numbers
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsift.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioReader, check_audio_array
from soundsift.confidence import ConfidenceScorer, QueryConfidence
from soundsift.core.chunked import BatchFn, CancelCheck, ProgressCallback, SegmentPlan, chunked_batches
from soundsift.core.config import ModelConfig
from soundsift.errors import AudioError, InvalidArgumentError
from soundsift.headroom import HeadroomStem, HeadroomWriters
from soundsift.queries import REST, AudioQuery, QueryLike, check_queries, query_name
from soundsift.vocabulary import Vocabulary

__all__ = ["MODES", "REST", "AudioQuery", "SegmentSeparator", "SeparationOptions", "Stems", "check_queries",
           "query_name"]


MODES = ("extract", "remove")


SEGMENT_SECONDS = 10.0  # default segment length of chunked separation
OVERLAP = 0.1  # default cross-fade between segments, as a fraction of a segment (docs/performance.md)
WRITE_AHEAD = 2  # separated regions that may wait for the writer thread
MIN_SEGMENT_SECONDS = 0.1  # shorter segments hold too few model frames and advance too little per network call
MAX_SEGMENT_SECONDS = 600.0  # a segment is held in memory whole, padded to full length at the model rate
MIN_GAIN_DB, MAX_GAIN_DB = -120.0, 24.0  # the level of a queried sound; -inf (removal) is allowed besides


def check_segment_seconds(value: float) -> float:
    """A segment length in seconds, within [MIN_SEGMENT_SECONDS, MAX_SEGMENT_SECONDS] (NaN and inf refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        MIN_SEGMENT_SECONDS <= value <= MAX_SEGMENT_SECONDS
    ):
        raise InvalidArgumentError(f"segment length must be between {MIN_SEGMENT_SECONDS:g} and "
                                   f"{MAX_SEGMENT_SECONDS:g} seconds, got {value!r}")
    return float(value)


def check_gain_db(gain: float, where: str = "gain_db") -> float:
    """A level in dB within [MIN_GAIN_DB, MAX_GAIN_DB], or -inf for removal; ``where`` names it in the error."""
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not (
        gain == -math.inf or MIN_GAIN_DB <= gain <= MAX_GAIN_DB
    ):
        raise InvalidArgumentError(f"{where} must be a number of decibels from {MIN_GAIN_DB:g} to +{MAX_GAIN_DB:g}, "
                                   f"or -inf to remove the sound, got {gain!r}")
    return float(gain)


@dataclass(frozen=True)
class SeparationOptions:
    """How a separation runs. ``mode='remove'`` returns, per query, the input minus that sound.

    In both modes ``rest`` is the input with every queried sound taken out, so in extract
    mode the stems plus ``rest`` add up to the input exactly.  ``segment_batch`` segments go
    through the network together (None: the engine's default, more than one on a GPU).
    ``gain_db`` sets, per query, the level of the queried sound in that query's output
    (extract: the stem scaled; remove: the sound ducked instead of taken out, ``-inf`` being
    the plain removal); queries left out keep 0 dB (extract) or are removed (remove).
    ``rest`` is never scaled.  Query presets fill it (:mod:`soundsift.presets.query`).
    Segments last 0.1 to 600 s; gains lie in -120..+24 dB, or are ``-inf``.
    """

    mode: str = "extract"
    segment_seconds: float = SEGMENT_SECONDS
    overlap: float = OVERLAP
    include_rest: bool = True
    segment_batch: int | None = None
    gain_db: Mapping[str, float] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {MODES}, got '{self.mode}'")
        check_segment_seconds(self.segment_seconds)
        if not 0 <= self.overlap <= 0.5:
            raise InvalidArgumentError(f"overlap must be a fraction in [0, 0.5], got {self.overlap}")
        if self.segment_batch is not None and self.segment_batch < 1:
            raise InvalidArgumentError(f"segment batch must be at least 1, got {self.segment_batch}")
        for query, gain in self.gain_db.items():
            check_gain_db(gain, f"gain_db[{query!r}]")

    def plan(self, total: int, sample_rate: int) -> SegmentPlan:
        """Segment layout in native samples for a ``total``-sample input."""
        segment = max(1, round(self.segment_seconds * sample_rate))
        return SegmentPlan(total, segment, min(round(self.overlap * segment), segment // 2))


class Stems(dict):
    """The stems of one separation, ``{name: (channels, samples)}``, as :meth:`SegmentSeparator.separate` returns.

    ``confidence`` maps each text query to how near it lies to what the model was trained on
    (:class:`~soundsift.confidence.QueryConfidence`; None for a model without a vocabulary).
    It is scored when first read, so callers that separate segment by segment pay nothing for it.
    """

    def __init__(self, stems: Mapping[str, np.ndarray], texts: Sequence[str],
                 score: Callable[[str], QueryConfidence | None]) -> None:
        super().__init__(stems)
        self._texts, self._score = list(texts), score

    @functools.cached_property
    def confidence(self) -> dict[str, QueryConfidence | None]:
        """Each text query's :class:`~soundsift.confidence.QueryConfidence` (None without a vocabulary)."""
        return {text: self._score(text) for text in self._texts}

    def __reduce__(self) -> tuple[type, tuple[dict[str, np.ndarray]]]:
        return dict, (dict(self),)  # pickled as the plain stems: the scorer holds the model


class SegmentSeparator(abc.ABC):
    """A loaded model that separates arrays and files; engines supply :meth:`_segment_fn`."""

    config: ModelConfig
    name: str
    vocabulary: Vocabulary | None = None  # the model's vocabulary.json, when it has one
    _scorer: ConfidenceScorer | None = None

    @property
    def default_segment_batch(self) -> int:
        """Segments per network call when the options leave it open."""
        return 1

    @abc.abstractmethod
    def confidence_vectors(self, texts: list[str]) -> np.ndarray:
        """What query confidence compares: the query encoder's token states per text, pooled
        (:func:`~soundsift.confidence.pool_token_states`). ``(n,)`` strings -> ``(n, dim)`` unit vectors."""

    def query_confidence(self, text: str) -> QueryConfidence | None:
        """How near ``text`` lies to what the model was trained on (:mod:`soundsift.confidence`).

        None when the model carries no vocabulary.
        """
        if self.vocabulary is None:
            return None
        if self._scorer is None or self._scorer.vocabulary is not self.vocabulary:
            self._scorer = ConfidenceScorer(self.vocabulary, self.confidence_vectors)
        return self._scorer.score([text])[0]

    @abc.abstractmethod
    def _segment_fn(self, sample_rate: int, queries: list[QueryLike], segment: int) -> BatchFn:
        """Per-batch extraction: list of (channels, L) native segments -> list of (queries, channels, L).

        ``queries`` are texts and :class:`~soundsift.queries.AudioQuery` objects, already checked.
        """

    def iter_separate(
        self,
        blocks: Iterable[np.ndarray],
        sample_rate: int,
        channels: int,
        total: int,
        queries: Sequence[QueryLike],
        options: SeparationOptions = SeparationOptions(),
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """The engine: yield consecutive finished regions as ``{stem name: (channels, n)}``.

        A text query's stem is named by its text, an audio query's by its ``name``.
        """
        queries = check_queries(queries)
        names = [query_name(q) for q in queries]
        stray = sorted(set(options.gain_db) - set(names))
        if stray:
            raise InvalidArgumentError(f"gain_db names {stray[0]!r}, which is not one of the queries {names}")
        plan = options.plan(total, sample_rate)
        fn = self._segment_fn(sample_rate, queries, plan.segment)
        batch = options.segment_batch or self.default_segment_batch
        for inp, out in chunked_batches(blocks, plan, channels, fn, batch, progress, cancel):
            yield _name_stems(names, inp, out, options)

    def separate(
        self,
        audio_or_path: np.ndarray | str | Path,
        queries: Sequence[QueryLike] | QueryLike,
        sample_rate: int | None = None,
        mode: str = "extract",
        options: SeparationOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> Stems:
        """Separate an array (with ``sample_rate``) or a file into one stem per query plus ``rest``.

        Queries are texts or :class:`~soundsift.queries.AudioQuery` objects (query by example).
        Arrays are ``(channels, samples)`` or 1-D mono.  Returns ``{name: (channels, samples)}``
        at the input's own rate and channel count, with each text query's score in the result's
        ``confidence`` (:class:`Stems`).  ``options`` (segment length, overlap, whether to return
        ``rest``) overrides ``mode`` when given.
        """
        options = options or SeparationOptions(mode=mode)
        parts: dict[str, list[np.ndarray]] = {}
        with _open_source(audio_or_path, sample_rate) as source:
            for region in self.iter_separate(
                source.blocks(), source.sample_rate, source.channels, source.frames, queries, options, progress, cancel
            ):
                for name, block in region.items():
                    parts.setdefault(name, []).append(block)
        texts = [q for q in check_queries(queries) if isinstance(q, str)]
        return Stems({name: np.concatenate(blocks, axis=1) for name, blocks in parts.items()}, texts,
                     self.query_confidence)

    def separate_file(
        self,
        path: str | Path,
        outputs: Mapping[str, Path],
        options: SeparationOptions = SeparationOptions(),
        bit_depth: str = "24",
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        queries: Sequence[QueryLike] | None = None,
    ) -> list[Path]:
        """Stream a file through the engine into one file per stem, in bounded memory.

        ``outputs`` maps each query's stem name (and ``rest`` when wanted) to its output path.
        ``queries`` gives the queries themselves when some are audio queries (their names must
        be the keys of ``outputs``); by default the keys are the text queries.  Files appear
        only when the whole separation succeeded; on any error none is written.
        """
        if queries is None:
            queries = [name for name in outputs if name != REST]
        else:
            queries = check_queries(queries)
            missing = [query_name(q) for q in queries if query_name(q) not in outputs]
            if missing or len(outputs) - (REST in outputs) != len(queries):
                raise InvalidArgumentError(f"outputs {sorted(outputs)} do not match the queries' stem names "
                                           f"{[query_name(q) for q in queries]}")
        options = dataclasses.replace(options, include_rest=REST in outputs)
        with AudioReader(path) as reader:
            files = HeadroomWriters(bit_depth, str(path))  # nothing clips silently (soundsift.headroom)
            try:
                writers = {n: files.open(p, reader.sample_rate, reader.channels) for n, p in outputs.items()}
                regions = self.iter_separate(reader.blocks(), reader.sample_rate, reader.channels, reader.frames,
                                             queries, options, progress, cancel)
                _write_behind(regions, writers)
            except BaseException:
                files.abort()
                raise
        return files.commit()


def _write_behind(regions: Iterable[dict[str, np.ndarray]], writers: Mapping[str, HeadroomStem]) -> None:
    """Write each region's stems on a writer thread while the next region is separated.

    Encoding and writing the stems (about 0.15 s per 3-minute 24-bit stereo stem) then
    overlaps the separation; at most ``WRITE_AHEAD`` regions wait, so memory stays bounded.
    Returns once everything is written; an error from either side propagates.
    """
    def write(region: dict[str, np.ndarray]) -> None:
        for name, block in region.items():
            writers[name].write(block)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="soundsift-write") as pool:
        pending: deque[Future[None]] = deque()
        try:
            for region in regions:
                pending.append(pool.submit(write, region))
                while len(pending) > WRITE_AHEAD:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _name_stems(queries: list[str], inp: np.ndarray, out: np.ndarray, options: SeparationOptions) -> dict[str, np.ndarray]:
    """Turn per-query extractions into the named stems of the chosen mode, at the options' levels."""
    levels = {q: 10.0 ** (gain / 20.0) for q, gain in options.gain_db.items()}
    if options.mode == "extract":
        stems = {q: out[i] * np.float32(levels[q]) if q in levels else out[i] for i, q in enumerate(queries)}
    else:
        stems = {q: inp - out[i] * np.float32(1.0 - levels[q]) if q in levels else inp - out[i]
                 for i, q in enumerate(queries)}
    if options.include_rest:
        stems[REST] = inp - out.sum(axis=0)
    return stems


class _ArraySource(contextlib.AbstractContextManager["_ArraySource"]):
    """An in-memory array presented like an :class:`AudioReader`."""

    def __init__(self, audio: np.ndarray, sample_rate: int) -> None:
        self.audio = audio
        self.sample_rate = sample_rate
        self.channels, self.frames = audio.shape

    def blocks(self, block_size: int = 1 << 20) -> Iterator[np.ndarray]:
        for start in range(0, self.frames, block_size):
            yield self.audio[:, start : start + block_size]

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
