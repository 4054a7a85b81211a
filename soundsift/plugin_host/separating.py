"""What the stages that run the separator share: model settings, the segment stream, its latency."""
from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import numpy as np

from soundsift.confidence import QueryConfidence
from soundsift.core.chunked import SegmentPlan
from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host.models import check_engine, separate_segment, shared_separator
from soundsift.plugin_host.stage import Stage
from soundsift.plugin_host.streaming import UNBOUNDED, SegmentStream
from soundsift.separation import OVERLAP, SEGMENT_SECONDS, SeparationOptions


class SeparatingStage(Stage):
    """A stage that separates its input by text queries, streaming at a fixed latency.

    The latency is one segment (``segment_seconds`` at the stream's sample rate, see
    :meth:`latency_samples`).  Segment length and overlap are fixed at construction; the
    model, engine and device may be changed and take effect from the next segment.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        engine: str = "auto",
        device: str = "auto",
        segment_seconds: float = SEGMENT_SECONDS,
        overlap: float = OVERLAP,
    ) -> None:
        self._segmenting = SeparationOptions(segment_seconds=float(segment_seconds), overlap=float(overlap))
        self.model = model
        self.engine = engine
        self.device = device
        self._stream: SegmentStream | None = None
        self._stream_rate = 0

    @property
    def model(self) -> str:
        """Model name (``"default"``, a name from ``soundsift models list``) or model directory."""
        return self._model

    @model.setter
    def model(self, value: str | Path) -> None:
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise InvalidArgumentError(f"model must be a model name or directory, got {value!r}")
        self._model = str(value)

    @property
    def engine(self) -> str:
        """Inference engine: ``"auto"``, ``"torch"``, or ``"onnx"`` where this soundsift has ONNX Runtime."""
        return self._engine

    @engine.setter
    def engine(self, value: str) -> None:
        self._engine = check_engine(value)

    @property
    def device(self) -> str:
        """Compute device: ``"auto"``, ``"cpu"`` or ``"cuda"``."""
        return self._device

    @device.setter
    def device(self, value: str) -> None:
        if value not in ("auto", "cpu", "cuda"):
            raise InvalidArgumentError(f"device must be 'auto', 'cpu' or 'cuda', got {value!r}")
        self._device = value

    @property
    def segment_seconds(self) -> float:
        """Segment length in seconds; also the latency."""
        return self._segmenting.segment_seconds

    @property
    def overlap(self) -> float:
        """Cross-fade between segments, as a fraction of a segment."""
        return self._segmenting.overlap

    def latency_samples(self, sample_rate: float) -> int:
        """The fixed delay, in samples, between a sample going in and its result coming out."""
        return self._plan(sample_rate).segment

    def separator(self) -> Any:
        """The loaded model (loaded on first use, and shared by stages with the same settings)."""
        return shared_separator(self.model, self.engine, self.device)

    @property
    def query_confidences(self) -> dict[str, QueryConfidence | None]:
        """How well the model knows each text query (:mod:`soundsift.confidence`; None where the model
        records no vocabulary); audio queries are left out.  Loads the model on first use."""
        separator = self.separator()
        return {q: separator.query_confidence(q) for q in self._queries() if isinstance(q, str)}

    def reset(self) -> None:
        super().reset()
        self._stream = None

    @abc.abstractmethod
    def _queries(self) -> list[str]:
        """The texts to separate by, as they stand now."""

    @abc.abstractmethod
    def _mode(self) -> str:
        """'extract' or 'remove', as it stands now."""

    def _separate(self, audio: np.ndarray, sample_rate: float, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """Stream ``(channels, n)`` audio; returns the released ``(input, (queries, channels, m))``."""
        if reset:
            stream = self._new_stream(sample_rate, audio.shape[0])
            head, tail = stream.push(audio), stream.flush()
            return np.concatenate([head[0], tail[0]], axis=1), np.concatenate([head[1], tail[1]], axis=-1)
        if self._stream is None:
            self._stream = self._new_stream(sample_rate, audio.shape[0])
            self._stream_rate = sample_rate
        elif sample_rate != self._stream_rate or audio.shape[0] != self._stream.channels:
            raise InvalidArgumentError(
                f"a stream of {self._stream.channels} channels at {self._stream_rate:g} Hz cannot go on with "
                f"{audio.shape[0]} channels at {sample_rate:g} Hz; call reset() or pass reset=True"
            )
        return self._stream.push(audio)

    def _plan(self, sample_rate: float) -> SegmentPlan:
        if sample_rate != int(sample_rate):
            raise InvalidArgumentError(f"separation needs a whole number of Hz, got {sample_rate}")
        return self._segmenting.plan(UNBOUNDED, int(sample_rate))

    def _new_stream(self, sample_rate: float, channels: int) -> SegmentStream:
        plan = self._plan(sample_rate)

        def segment_fn(segment: np.ndarray) -> np.ndarray:
            options = SeparationOptions(self._mode(), self.segment_seconds, self.overlap, include_rest=False)
            return separate_segment(self.separator(), segment, self._queries(), sample_rate, options)

        return SegmentStream(segment_fn, plan, channels, len(self._queries()))
