"""File and folder names turned into captions: 'Dog_BarkLA_cut03.wav' -> 'dog bark'.

Names are split at camel case, digits and separators; numbers, words holding digits, codes (words of
two letters or fewer but a few English ones) and take/edit/format words
(``name_words.toml``) are dropped.  A word is *known* when the query encoder's text model has
it as a whole word, or it names one of the model's classes; words that name a class (up to
plural and -ing forms: 'Footstep' -> 'footsteps', 'barking birds' -> 'birds') are replaced by the
class label, and unknown words are kept as text.  A file name with no known word gives way to
the nearest folder name that has one (a transcript in another language, a code), and is kept
only when no folder says more.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from soundsift.vocabulary import Vocabulary

WORDS_FILE = Path(__file__).with_name("name_words.toml")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[_\-.+~()\[\]{}#&,;!@=]+")
_DIGITS = re.compile(r"(?<=[^\W\d])(?=\d)|(?<=\d)(?=[^\W\d])")
_SUFFIXES = ("ing", "es", "ed", "s")
_LABEL_FILLER = frozenset({"a", "an", "the", "of"})


def stem(word: str) -> str:
    """A crude stem, equal for a word's plural, -ing and -ed forms ('chopping' and 'chop' -> 'chop')."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) >= 4 and word[-1] == word[-2]:
        word = word[:-1]
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    return word


@dataclass(frozen=True)
class NameWords:
    """What decides a name's caption: dropped words, kept short words, known words and class labels."""

    noise: frozenset[str]
    short: frozenset[str]
    known: frozenset[str] | None = None  # None: no word list, every word counts as known
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (label, stems of its words), longest first

    def words(self, text: str) -> list[str]:
        """The words of a name that may describe a sound, lower case, without repeats."""
        spaced = _SEPARATORS.sub(" ", _DIGITS.sub(" ", _CAMEL.sub(" ", text)))
        words: list[str] = []
        for word in spaced.lower().split():
            word = word.strip("'\"")
            if (len(word) <= 2 and word not in self.short) or any(ch.isdigit() for ch in word) \
                    or word in self.noise or word in words:
                continue
            words.append(word)
        return words

    def to_classes(self, words: list[str]) -> list[str]:
        """``words`` with each group naming a class replaced by the class label, in place of its first word."""
        out: list[str | None] = list(words)
        stems = [stem(w) for w in words]
        for label, label_stems in self.classes:
            spots = [stems.index(s) if s in stems and out[stems.index(s)] is not None else -1 for s in label_stems]
            if -1 in spots:
                continue
            for spot in spots:
                out[spot] = None
            out[min(spots)] = label
        return list(dict.fromkeys(w for w in out if w))

    def is_known(self, word: str) -> bool:
        """True for a word of the text model's vocabulary or a class label."""
        return self.known is None or word in self.known or any(word == label for label, _ in self.classes)

    def caption(self, relative: str) -> str:
        """The caption of a library path: its file name's words, or a folder's when the file name has no known word."""
        parts = Path(relative).parts
        fallback = ""
        for name in [Path(parts[-1]).stem, *reversed(parts[:-1])]:
            words = self.to_classes(self.words(name))
            if words and any(self.is_known(w) for w in words):
                return " ".join(words)
            fallback = fallback or " ".join(words)
        return fallback


def _class_stems(vocabulary: Vocabulary | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if vocabulary is None:
        return ()
    classes = [(c.label, tuple(stem(w) for w in c.label.lower().split() if w not in _LABEL_FILLER))
               for c in vocabulary.classes]
    return tuple(sorted(((label, s) for label, s in classes if s), key=lambda item: -len(item[1])))


@lru_cache(maxsize=1)
def _text_model_words() -> frozenset[str] | None:
    """The whole words of the compact encoder's MiniLM tokenizer (None when the text model is not installed)."""
    from soundsift.errors import CheckpointError
    from soundsift.model.encoders.minilm_files import TOKENIZER_FILE, locate_minilm

    try:
        vocab = json.loads((locate_minilm().directory / TOKENIZER_FILE).read_text(encoding="utf-8"))["model"]["vocab"]
    except (CheckpointError, OSError, ValueError, KeyError):
        return None
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


def load_name_words(vocabulary: Vocabulary | None = None, known: frozenset[str] | None = None) -> NameWords:
    """The word lists of ``name_words.toml``, the text model's words (or ``known``) and ``vocabulary``'s classes."""
    data = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    return NameWords(frozenset(data["noise"]), frozenset(data["short"]),
                     known if known is not None else _text_model_words(), _class_stems(vocabulary))
