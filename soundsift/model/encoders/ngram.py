"""A weightless text encoder from hashed words and character trigrams.

It needs no trained weights and no downloads, so it serves tests and closed-vocabulary
models (queries that are class labels).  It knows nothing about meaning: "fiddle" is not
close to "violin".  Open-vocabulary separation uses a CLAP backend instead.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

import torch

from soundsift.model.encoders.base import QueryEncoder

_STOPWORDS = frozenset({"a", "an", "the", "of", "sound", "sounds", "some"})
_WORD = re.compile(r"[a-z0-9']+")


def _hashed(feature: str, dim: int) -> tuple[int, float]:
    """Bucket index and sign of a feature string (stable across runs and platforms)."""
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


class NgramTextEncoder(QueryEncoder):
    """Sentence vector = normalised sum of word vectors; word vector = hashed word + trigrams."""

    name = "ngram"

    def __init__(self, options: dict[str, Any]) -> None:
        merged = {"dim": 128, **options}
        super().__init__(merged)
        self._dim = int(merged["dim"])
        if self._dim < 8:
            raise ValueError(f"ngram encoder dim must be at least 8, got {self._dim}")

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def token_dim(self) -> int:
        return self._dim

    def _words(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
        return words or _WORD.findall(text.lower()) or [text.strip().lower()]

    def _word_vector(self, word: str) -> torch.Tensor:
        vec = torch.zeros(self._dim)
        padded = f"<{word}>"
        features = [f"w:{word}"] * 2 + [padded[i : i + 3] for i in range(len(padded) - 2)]
        for feature in features:
            index, sign = _hashed(feature, self._dim)
            vec[index] += sign
        return vec / vec.norm().clamp_min(1e-8)

    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        words = [self._words(t) for t in texts]
        length = max(len(w) for w in words)
        states = torch.zeros(len(texts), length, self._dim)
        padding = torch.ones(len(texts), length, dtype=torch.bool)
        for i, sentence in enumerate(words):
            for j, word in enumerate(sentence):
                states[i, j] = self._word_vector(word)
                padding[i, j] = False
        return states, padding

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        states, padding = self.token_states(texts)
        summed = (states * (~padding).unsqueeze(-1)).sum(dim=1)
        return summed / summed.norm(dim=-1, keepdim=True).clamp_min(1e-8)
