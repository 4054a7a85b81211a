"""Labelled single-source clips of one split, loaded once into memory as one tensor."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundsift.audio import downmix, read_audio, resample
from soundsift.errors import SoundsiftError
from soundsift.training.data.levels import fit_length
from soundsift.training.data.manifest import corpus_root, read_manifest
from soundsift.training.data.vocabulary import Phrase, class_phrase


class NoClipsError(SoundsiftError):
    """The corpora hold no single-source clips of the asked-for split."""


@dataclass(frozen=True)
class ClipSet:
    """Clips with their class, caption, category, corpus (its folder's name) and manifest ``meta``.
    Shape of ``waves``: ``(n, samples)``."""

    waves: torch.Tensor
    labels: tuple[str, ...]
    captions: tuple[str, ...]
    categories: tuple[str, ...]
    sample_rate: int
    meta: tuple[Mapping[str, Any], ...]
    corpora: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[str]:
        """The distinct classes, sorted."""
        return sorted(set(self.labels))

    def class_words(self) -> dict[str, Phrase]:
        """Each class's words, in :attr:`classes` order (see :func:`agreed_class_words`)."""
        words = agreed_class_words(zip(self.labels, self.meta))
        return {label: words[label] for label in self.classes}

    def label_ids(self, classes: Sequence[str]) -> torch.Tensor:
        """Index of each clip's class in ``classes``. Shape: ``(n,)`` int64."""
        index = {c: i for i, c in enumerate(classes)}
        return torch.tensor([index[label] for label in self.labels], dtype=torch.int64)


def agreed_class_words(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Phrase]:
    """Each class's words from ``(label, meta)`` pairs: the vocabulary table's, else the entries' meta.

    The entries of a class must agree on its words; otherwise the class is an error naming both.
    """
    words: dict[str, Phrase] = {}
    for label, meta in entries:
        mine = class_phrase(label, meta)
        seen = words.setdefault(label, mine)
        if seen != mine:
            raise SoundsiftError(f"class '{label}': its manifest entries disagree on its words in meta "
                                 f"(noun {seen.noun!r}, clause {seen.clause!r} in one; "
                                 f"noun {mine.noun!r}, clause {mine.clause!r} in another)")
    return words


def manifest_class_words(corpora: Sequence[str | Path], split: str, labels: Iterable[str]) -> dict[str, Phrase]:
    """The words of those of ``labels`` that have single-source ``split`` entries in the corpora, read from the
    manifests alone (no audio is decoded)."""
    wanted = set(labels)
    return agreed_class_words((e.label, e.meta) for corpus in corpora for e in read_manifest(corpus)
                       if e.split == split and not e.stems and e.label in wanted)


def load_clips(
    corpora: Sequence[str | Path], split: str, sample_rate: int, seconds: float,
    progress: Callable[[int, int], None] | None = None, keep: Callable[[str], bool] | None = None,
) -> ClipSet:
    """The single-source clips of ``split`` in the corpora, mono at ``sample_rate``, cut or padded to ``seconds``;
    with ``keep``, only those of the classes it accepts (the others are never decoded)."""
    found = []
    for corpus in corpora:
        root = corpus_root(corpus)
        found += [(root / e.path, e, Path(corpus).name) for e in read_manifest(corpus)
                  if e.split == split and not e.stems and (keep is None or keep(e.label))]
    if not found:
        raise NoClipsError(f"no single-source '{split}' clips in {[str(c) for c in corpora]}")
    samples = round(seconds * sample_rate)
    waves = torch.empty(len(found), samples)
    for i, (path, _, _) in enumerate(found):
        audio, rate = read_audio(path)
        mono = downmix(audio)
        if rate != sample_rate:
            mono = resample(mono[None, :], rate, sample_rate)[0]
        waves[i] = torch.from_numpy(fit_length(np.ascontiguousarray(mono, dtype=np.float32), samples))
        if progress is not None:
            progress(i + 1, len(found))
    return ClipSet(
        waves, tuple(e.label for _, e, _ in found), tuple(e.caption for _, e, _ in found),
        tuple(e.category for _, e, _ in found), sample_rate, tuple(e.meta for _, e, _ in found),
        tuple(name for _, _, name in found),
    )
