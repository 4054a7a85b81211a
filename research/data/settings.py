"""The settings fields every corpus builder shares; each builder's settings class adds only its own.

A builder saves its settings as build.json next to the corpus and will not resume a corpus that
was started with other ones, so every field here is part of what decides the corpus bytes.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClipCorpusSettings:
    """A clip corpus's seed, clip length and rate, and the shares of its val and test splits."""

    seed: int = 0
    seconds: float = 4.0
    sample_rate: int = 16000
    val: float = 0.1
    test: float = 0.15


@dataclass(frozen=True)
class MixtureSetSettings:
    """A mixture test set's source corpora, the range of its source gains (±dB) and its seed."""

    __test__ = False  # the test-set settings are not pytest classes

    corpora: tuple[str, ...]
    gain_db: float = 5.0
    seed: int = 0
