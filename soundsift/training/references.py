"""Reference clips for evaluating audio-example queries: seeded, same class, from a held-out split.

``soundsift eval --queries audio`` queries each test stem with "what sounds like this clip",
the clip being ``examples`` other recordings of the stem's class drawn from the first of
``splits`` that holds clips of that class (by default ``val``, then ``train``: the test
mixtures are built from the ``test`` split, so a reference is never the test source itself;
some corpora have no ``val`` clips of some classes).  The draw depends only on the seed, the
mixture's name and the stem, so a run is repeatable and independent of the model.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from soundsift.errors import SoundsiftError
from soundsift.queries import AudioExample, AudioQuery
from soundsift.training.data.manifest import corpus_root, read_manifest


class ReferencePicker:
    """Single-source clips of one split of some corpora, indexed by class, drawn from with a seed."""

    def __init__(self, corpora: Sequence[str | Path], splits: Sequence[str] | str = ("val", "train"), seed: int = 0,
                 examples: int = 1) -> None:
        if examples < 1:
            raise SoundsiftError(f"examples per audio query must be at least 1, got {examples}")
        self.splits = (splits,) if isinstance(splits, str) else tuple(splits)
        self.seed, self.examples = seed, examples
        found: dict[str, dict[str, list[Path]]] = {s: defaultdict(list) for s in self.splits}
        for corpus in corpora:
            root = corpus_root(corpus)
            for entry in read_manifest(corpus):
                if entry.split in found and not entry.stems:
                    found[entry.split][entry.label].append(root / entry.path)
        self.by_label: dict[str, list[Path]] = {}
        for split in reversed(self.splits):  # the first split that has a class wins
            self.by_label.update({label: sorted(paths) for label, paths in found[split].items()})
        if not self.by_label:
            raise SoundsiftError(f"no single-source {'/'.join(self.splits)} clips in {', '.join(map(str, corpora))}")

    def pick(self, label: str, mixture: str, stem: int) -> list[Path]:
        """``examples`` distinct reference clips of ``label`` (fewer if the split has fewer)."""
        clips = self.by_label.get(label, [])
        if not clips:
            raise SoundsiftError(f"no {'/'.join(self.splits)} clip of class '{label}' to use as an audio query")
        key = int.from_bytes(hashlib.sha256(f"{mixture}#{stem}".encode()).digest()[:8], "little")
        rng = np.random.default_rng([self.seed, key])
        chosen = rng.choice(len(clips), size=min(self.examples, len(clips)), replace=False)
        return [clips[int(i)] for i in chosen]

    def query(self, label: str, mixture: str, stem: int) -> AudioQuery:
        """The audio query for stem ``stem`` of ``mixture``, named after its class."""
        paths = self.pick(label, mixture, stem)
        return AudioQuery(tuple(AudioExample(p) for p in paths), name=f"like {label}")
