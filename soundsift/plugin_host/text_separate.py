"""TextSeparate: the separator as one effect, extracting or removing the sound a text (or an audio example) describes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from soundsift.confidence import QueryConfidence
from soundsift.core.store import DEFAULT_MODEL
from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host.models import shared_separator
from soundsift.plugin_host.separating import SeparatingStage
from soundsift.queries import AudioQuery, QueryLike
from soundsift.separation import MODES, OVERLAP, SEGMENT_SECONDS, check_gain_db, check_queries


class TextSeparate(SeparatingStage):
    """Keep (``mode="extract"``) or take out (``mode="remove"``) the sound ``query`` describes.

    Shaped like a Pedalboard plugin (see :class:`~soundsift.plugin_host.stage.Stage`); its
    latency is one segment, :meth:`latency_samples`.  ``gain_db`` scales the output and
    applies from the next call; changes of ``query`` and ``mode`` apply from the next
    segment, cross-faded in like any segment boundary.  ``buffer_size`` is accepted for
    Pedalboard compatibility: the separator always works in whole segments.

    ``query`` may be an :class:`~soundsift.queries.AudioQuery` ("what sounds like this clip",
    see ``docs/query_by_example.md``); audio queries need the encoder's audio tower, so with
    ``engine="auto"`` they run on the torch engine.

    Stages in series each separate what the stage before let through; parallel stages (in a
    :class:`~soundsift.plugin_host.Mix`) each separate the whole input, so a sound two of them
    describe is counted twice in the sum.  For several sounds of one input use
    :class:`~soundsift.plugin_host.StemChains`, whose stems are one split of the input.

    Example:
        >>> from pedalboard import Reverb
        >>> from soundsift.plugin_host import Chain, TextSeparate
        >>> board = Chain([TextSeparate("vocals", model="path/to/model"), Reverb()])  # doctest: +SKIP
        >>> wet = board(audio, 44100)                                                 # doctest: +SKIP
    """

    def __init__(
        self,
        query: QueryLike,
        mode: str = "extract",
        gain_db: float = 0.0,
        model: str | Path = DEFAULT_MODEL,
        engine: str = "auto",
        device: str = "auto",
        segment_seconds: float = SEGMENT_SECONDS,
        overlap: float = OVERLAP,
    ) -> None:
        super().__init__(model, engine, device, segment_seconds, overlap)
        self.query = query
        self.mode = mode
        self.gain_db = gain_db

    @property
    def query(self) -> QueryLike:
        """The text describing the sound, e.g. ``"a dog barking"``, or an audio query."""
        return self._query

    @query.setter
    def query(self, value: QueryLike) -> None:
        self._query = check_queries([value])[0]

    def separator(self) -> Any:
        """The loaded model; an audio query on ``engine="auto"`` takes the torch engine (it has the audio tower)."""
        if isinstance(self.query, AudioQuery) and self.engine == "auto":
            return shared_separator(self.model, "torch", self.device)
        return super().separator()

    @property
    def mode(self) -> str:
        """``"extract"`` keeps only the described sound; ``"remove"`` keeps everything else."""
        return self._mode_name

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise InvalidArgumentError(f"mode must be one of {MODES}, got {value!r}")
        self._mode_name = value

    @property
    def gain_db(self) -> float:
        """Output gain in decibels."""
        return self._gain_db

    @gain_db.setter
    def gain_db(self, value: float) -> None:
        self._gain_db = check_gain_db(value)

    @property
    def query_confidence(self) -> QueryConfidence | None:
        """How well the model knows the text query (None for an audio query or a model without vocabulary)."""
        return self.query_confidences.get(self.query) if isinstance(self.query, str) else None

    def _queries(self) -> list[QueryLike]:
        return [self.query]

    def _mode(self) -> str:
        return self.mode

    def render(self, audio: np.ndarray, sample_rate: float, buffer_size: int, reset: bool) -> np.ndarray:
        _, out = self._separate(audio, sample_rate, reset)
        return out[0] * np.float32(10.0 ** (self.gain_db / 20.0))

    def __repr__(self) -> str:
        return (
            f"TextSeparate(query={self.query!r}, mode={self.mode!r}, gain_db={self.gain_db:g}, model={self.model!r}, "
            f"engine={self.engine!r}, device={self.device!r}, segment_seconds={self.segment_seconds:g}, "
            f"overlap={self.overlap:g})"
        )
