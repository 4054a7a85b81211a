"""Query confidence: how near a text query lies to anything the model was trained on.

The score is the cosine, in the model's own query encoder, between the query and the
nearest phrase of the model's vocabulary (:mod:`soundsift.vocabulary`); each text is the
mean of the encoder's token states over its tokens (:func:`pool_token_states`).  For the
compact encoder that is the text's own sentence vector before the vocabulary anchors pull
it towards the training captions, which they do for any text, nonsense included
(docs/encoders.md).  A query scoring below the vocabulary's calibrated threshold is one the
model does not know well.  Torch-free: engines pass their own function, so the ONNX engine
scores with its ONNX text tower.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from soundsift.vocabulary import Vocabulary

NEAREST = 3  # known sounds named beside a score
SHOWN_CHARS = 80  # a longer query is cut in messages, so a warning stays a readable line

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class QueryConfidence:
    """``score``: cosine to the nearest vocabulary phrase (1 = a training phrase itself).

    ``known``: the score is at or above the model's calibrated threshold (None when the
    model's vocabulary has no threshold).  ``nearest``: the nearest known sounds, one phrase
    per class, nearest first.
    """

    score: float
    known: bool | None
    nearest: list[str]

    def warning(self, query: str) -> str:
        """The one line printed for a query the model does not know well."""
        return f"'{shown_query(query)}' is not a sound this model knows well; nearest: " + ", ".join(self.nearest)


def shown_query(query: str) -> str:
    """``query`` as messages show it: cut to :data:`SHOWN_CHARS` characters with an ellipsis."""
    return query if len(query) <= SHOWN_CHARS else query[: SHOWN_CHARS - 1].rstrip() + "…"


class ConfidenceScorer:
    """Scores queries against a vocabulary; phrase embeddings are computed once, on first use."""

    def __init__(self, vocabulary: Vocabulary, embed: EmbedFn) -> None:
        self.vocabulary = vocabulary
        self._embed = embed
        pairs = vocabulary.phrases()
        self._phrases = [p for p, _ in pairs]
        self._labels = [label for _, label in pairs]
        self._matrix: np.ndarray | None = None

    def score(self, texts: Sequence[str]) -> list[QueryConfidence]:
        """One :class:`QueryConfidence` per text."""
        if not texts:
            return []
        if self._matrix is None:
            self._matrix = _unit(self._embed(self._phrases))
        cosines = _unit(self._embed(list(texts))) @ self._matrix.T
        return [self._confidence(row) for row in cosines]

    def _confidence(self, cosines: np.ndarray) -> QueryConfidence:
        nearest: dict[str, str] = {}
        for index in np.argsort(-cosines, kind="stable"):
            nearest.setdefault(self._labels[index], self._phrases[index])
            if len(nearest) == NEAREST:
                break
        score = float(cosines.max())
        threshold = self.vocabulary.threshold
        return QueryConfidence(score, None if threshold is None else score >= threshold, list(nearest.values()))


def pool_token_states(states: np.ndarray, padding: np.ndarray) -> np.ndarray:
    """Token states ``(n, L, dim)`` with padding mask ``(n, L)`` (True where padded) -> ``(n, dim)`` unit means."""
    keep = (~np.asarray(padding, dtype=bool))[..., None]
    means = (np.asarray(states, dtype=np.float64) * keep).sum(axis=1) / np.maximum(keep.sum(axis=1), 1)
    return _unit(means)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so that dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def error_rates(scores: Sequence[float], known: Sequence[bool], threshold: float) -> tuple[float, float]:
    """``(false alarms, misses)`` at ``threshold``: the share of known queries that would be warned
    about, and the share of unknown queries that would not."""
    values, labels = np.asarray(scores, dtype=float), np.asarray(known, dtype=bool)
    if labels.all() or not labels.any():
        raise ValueError("calibration needs both known and unknown queries")
    return float(np.mean(values[labels] < threshold)), float(np.mean(values[~labels] >= threshold))


def calibrate(scores: Sequence[float], known: Sequence[bool]) -> float:
    """The threshold with the fewest false alarms plus misses (as shares of each group).

    Candidates are the midpoints between neighbouring distinct scores; of equally good ones the
    lowest wins, so that known queries are warned about as rarely as the data allow.
    """
    values = np.unique(np.asarray(scores, dtype=float))
    candidates = (values[:-1] + values[1:]) / 2 if len(values) > 1 else values
    return float(min(candidates, key=lambda t: (sum(error_rates(scores, known, t)), t)))
