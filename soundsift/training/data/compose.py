"""Captions for several sounds at once, composed from each sound's phrase.

The connectives vary ("and", "while", "as", "followed by", "then", "with", commas) so the
caption-to-clause parser of the weak training has real work; which one is used is drawn
from the caller's seeded generator.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soundsift.training.data.vocabulary import Phrase

STYLES = ("nouns", "and", "while", "as", "followed by", "then", "with", "commas")


def caption_forms(part: Phrase) -> list[str]:
    """Every caption a single sound is given: its clause, its noun phrase and "the sound of ..."."""
    return [part.clause, part.noun, f"the sound of {part.noun}"]


def single_caption(part: Phrase, rng: np.random.Generator) -> str:
    """A caption for one sound: one of its :func:`caption_forms`."""
    return str(rng.choice(caption_forms(part)))


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compose_caption(parts: Sequence[Phrase], rng: np.random.Generator, style: str | None = None) -> str:
    """One caption naming every part, e.g. "a dog barks while rain falls"."""
    if not parts:
        raise ValueError("compose_caption needs at least one part")
    if len(parts) == 1:
        return single_caption(parts[0], rng)
    style = style or str(rng.choice(STYLES))
    head, rest = parts[0], parts[1:]
    nouns = [p.noun for p in parts]
    clauses = [p.clause for p in parts]
    if style == "nouns":
        return _listing(nouns)
    if style == "and":
        return _listing(clauses)
    if style in ("while", "as"):
        return f"{head.clause} {style} {_listing([p.clause for p in rest])}"
    if style == "followed by":
        return f"{head.clause}, followed by {_listing([p.noun for p in rest])}"
    if style == "then":
        return ", then ".join(clauses)
    if style == "with":
        return f"{head.clause} with {_listing([p.noun for p in rest])} in the background"
    if style == "commas":
        return ", ".join(clauses)
    raise ValueError(f"unknown caption style '{style}'; use one of {STYLES}")
