"""Query confidence: how near a text query lies to anything the model was trained on.

The score is the cosine, in the model's own query-encoder space, between the query's
embedding and the nearest phrase of the model's vocabulary (:mod:`soundsift.vocabulary`).
A query scoring below the vocabulary's calibrated threshold is one the model does not know
well (docs/encoders.md has the calibration).  Torch-free: engines pass their embedding
function, so the ONNX engine scores with its ONNX text tower.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from soundsift.vocabulary import Vocabulary

NEAREST = 3  # known sounds named beside a score

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
        return f"'{query}' is not a sound this model knows well; nearest: " + ", ".join(self.nearest)


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


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (the encoders already return unit vectors; this keeps the score a cosine)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
