"""Zero-shot captions for libraries with no text at all: the compact CLAP against a vocabulary.

Each file is heard through a few excerpts (start, middle, end, up to :data:`EXCERPT_SECONDS`
each); their mean audio embedding is scored against the text embedding of every
vocabulary phrase.  The best phrase is the caption, joined by a second one ("a violin and
a piano") when its share of the softmax is at least :data:`SECOND_RATIO` of the best's.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from soundsift.errors import SoundsiftError
from soundsift.training.finetune.excerpts import ExcerptReader
from soundsift.training.finetune.library import LibraryFile

EXCERPT_SECONDS = 5.0
EXCERPTS = 3
SECOND_RATIO = 0.5


def default_vocabulary() -> list[str]:
    """The labels of the bundled default model's classes, which the shipped compact CLAP was trained on too
    (the bundled model always records them: it is installed only with its vocabulary)."""
    from soundsift.core.store import BUNDLED_DIR, DEFAULT_MODEL
    from soundsift.vocabulary import read_vocabulary as read_model_vocabulary

    known = read_model_vocabulary(BUNDLED_DIR / DEFAULT_MODEL)
    if known is None:
        raise SoundsiftError(f"{BUNDLED_DIR / DEFAULT_MODEL}: the bundled model records no vocabulary; "
                             "give --vocabulary FILE")
    return [c.label for c in known.classes]


def read_vocabulary(path: Path) -> list[str]:
    """One phrase per line; blank lines and '#' comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SoundsiftError(f"{path}: cannot read the vocabulary ({exc})") from None
    words = [line.split("#", 1)[0].strip() for line in lines]
    words = list(dict.fromkeys(w for w in words if w))
    if len(words) < 2:
        raise SoundsiftError(f"{path}: a vocabulary needs at least two phrases, one per line")
    return words


class AutoTagger:
    """Captions files by the vocabulary phrases the compact CLAP scores highest."""

    def __init__(self, vocabulary: Sequence[str] | None = None, encoder: torch.nn.Module | None = None) -> None:
        if encoder is None:
            from soundsift.core.config import EncoderSpec
            from soundsift.model.encoders import build_encoder

            encoder = build_encoder(EncoderSpec(name="compact"))
        self.encoder = encoder
        self.vocabulary = list(vocabulary or default_vocabulary())
        with torch.no_grad():
            self.text = encoder.encode_text(self.vocabulary)
        self.reader = ExcerptReader(16_000)

    def embed(self, file: LibraryFile) -> torch.Tensor:
        """Mean audio embedding of the file's excerpts. Shape: (dim,)."""
        seconds = min(EXCERPT_SECONDS, file.duration)
        starts = np.linspace(0.0, max(0.0, file.duration - seconds), EXCERPTS if file.duration > seconds else 1)
        waves = np.stack([self.reader.read(file.path, float(s), seconds, file.duration) for s in starts])
        with torch.no_grad():
            emb = self.encoder.encode_audio(torch.from_numpy(waves), self.reader.sample_rate).mean(dim=0)
        return emb / emb.norm().clamp_min(1e-8)

    def caption(self, file: LibraryFile) -> str:
        """The best phrase, and a second one when it is nearly as likely."""
        probs = torch.softmax(self.encoder.logit_scale * (self.text @ self.embed(file)), dim=0)
        top = torch.topk(probs, k=min(2, len(self.vocabulary)))
        chosen = [self.vocabulary[int(top.indices[0])]]
        if len(top.values) > 1 and float(top.values[1]) >= SECOND_RATIO * float(top.values[0]):
            chosen.append(self.vocabulary[int(top.indices[1])])
        return " and ".join(chosen)

    def caption_files(self, files: Sequence[LibraryFile]) -> list[str]:
        """One caption per file, in order."""
        return [self.caption(f) for f in files]
