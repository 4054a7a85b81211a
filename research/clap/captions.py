"""Caption pools for training, class prompts for zero-shot scoring, and held-out paraphrases.

Training captions for a class are its recipes' own captions plus templates filled from its
words (label, noun phrase, clause: "violin", "the sound of a violin", "a violin plays", "a
recording of a violin", ...): the vocabulary table's, or for a class the table lacks those
its manifest entries give in ``meta`` (:meth:`~research.clap.clips.ClipSet.class_words`).
The paraphrases used in evaluation ("fiddle", "a person talking") never appear in training
captions: they test what the frozen MiniLM and the projection make of words the audio tower
was never paired with.
"""
from __future__ import annotations

from collections.abc import Iterable

from soundsift.training.data.vocabulary import Phrase, phrase, query

TEMPLATES = (
    "{label}",
    "{noun}",
    "{clause}",
    "the sound of {noun}",
    "a recording of {noun}",
    "{noun} can be heard",
    "{clause} in the recording",
    "you can hear {noun}",
)


def template_captions(label: str, words: Phrase | None = None) -> list[str]:
    """The templates filled in with a class's ``words`` (by default the vocabulary's; a class it lacks is an error)."""
    words = words or phrase(label)
    return [t.format(label=label, noun=words.noun, clause=words.clause) for t in TEMPLATES]


def caption_pool(label: str, recipe_captions: Iterable[str], words: Phrase | None = None) -> list[str]:
    """Every training caption of a class, without repeats, in a fixed order."""
    return sorted(set(template_captions(label, words)) | {c.strip() for c in recipe_captions if c.strip()})


def class_prompt(label: str, words: Phrase | None = None) -> str:
    """The zero-shot query of a class: the paper's "the sound of {noun}"."""
    return query(label, words)
