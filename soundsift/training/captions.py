"""Caption -> single-source clauses, by rules (docs/method.md, after Mahmud et al. 2024).

"a man talks while a dog barks" -> ["a man talks", "a dog barks"].  Captions are split on
connectives (commas, "and", "while", "as", "with", "followed by", "then", "after", ...),
except inside fixed phrases that name one source or one manner ("a man and a woman",
"on and off", "back and forth").  "as" and "with" only split when a new sound source
follows, so "a man speaks with excitement" stays whole.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

# Phrases whose "and"/"with"/"as" must not split the caption.
EXCEPTIONS = (
    "man and woman", "men and women", "man and a woman", "a man and a woman", "woman and man", "woman and a man",
    "boy and girl", "boys and girls", "male and female", "ladies and gentlemen", "husband and wife",
    "mother and child", "adult and child", "on and off", "off and on", "back and forth", "up and down",
    "in and out", "over and over", "again and again", "more and more", "louder and louder", "faster and faster",
    "round and round", "to and fro", "rock and roll", "rhythm and blues", "black and white", "salt and pepper",
    "loud and clear", "start and stop", "starts and stops", "stop and start", "stops and starts", "bits and pieces",
    "such as", "as if", "as though", "as long as", "as soon as", "as it", "as they", "as he", "as she",
    "with each other", "with one another", "with a hammer", "with a stick", "with a spoon", "with a knife",
)

# Connectives that always start a new clause (longest first so "and then" beats "and").
_ALWAYS = ("followed by", "as well as", "and then", "along with", "accompanied by", "together with", "while", "whilst",
           "then", "after", "before", "and", "plus", ",", ";")
# Connectives that start a new clause only when a sound source follows.
_IF_SOURCE = ("as", "with", "over", "amid", "amidst", "against")
_SOURCE_START = frozenset({
    "a", "an", "the", "some", "several", "many", "multiple", "two", "three", "four", "other", "another",
    "distant", "loud", "quiet", "soft", "people", "someone", "somebody", "birds", "dogs", "cars", "music",
    "rain", "wind", "water", "thunder", "traffic", "applause", "footsteps", "engines", "children", "men", "women",
    "his", "her", "their", "background", "crowd", "audience",
    # plural sources that take no article ("a bass plays as drums are played", "with bells in the background")
    "drums", "bells", "cymbals", "strings", "guitars", "violins", "horns", "trumpets", "voices", "insects",
    "crickets", "frogs", "bees", "waves", "leaves", "cows", "sheep", "goats", "horses", "chickens", "pigs",
    "vehicles", "machines", "sirens", "hooves", "something",
    # describing words that open a source ("with running water", "as heavy rain falls")
    "sea", "ocean", "running", "flowing", "rushing", "crackling", "chirping", "barking", "heavy", "gentle", "faint",
    "steady",
})
_PLACEHOLDER = "\u0000"
_SPLIT = re.compile(
    "|".join(
        [rf"\s*{re.escape(c)}" if c in ",;" else rf"\s+{re.escape(c)}\s+" for c in _ALWAYS]
        + [rf"\s+{c}\s+(?=(?:{'|'.join(sorted(_SOURCE_START))})\b)" for c in _IF_SOURCE]
    )
)
_LEADING = re.compile(
    r"^(?:as well as|followed by|accompanied by|along with|together with|and|then|also|while|as|with|after)\s+"
)
_TRAILING = re.compile(r"\s+(?:and|then)$")


def _protect(text: str) -> tuple[str, dict[str, str]]:
    """Hide exception phrases from the splitter behind placeholders."""
    saved: dict[str, str] = {}
    for i, phrase in enumerate(sorted(EXCEPTIONS, key=len, reverse=True)):
        pattern = re.compile(rf"\b{re.escape(phrase)}\b")
        if pattern.search(text):
            key = f"{_PLACEHOLDER}{i}{_PLACEHOLDER}"
            saved[key] = phrase
            text = pattern.sub(key, text)
    return text, saved


def split_caption(caption: str) -> list[str]:
    """Split a caption into single-source clauses, in order, lower case, without duplicates."""
    text = re.sub(r"\s+", " ", caption.strip().lower()).rstrip(".!?")
    protected, saved = _protect(text)
    clauses: list[str] = []
    for part in _SPLIT.split(protected):
        for key, phrase in saved.items():
            part = part.replace(key, phrase)
        part = _TRAILING.sub("", _LEADING.sub("", part.strip(" ,;")))
        if part and part not in clauses:
            clauses.append(part)
    return clauses or [text]


@dataclass(frozen=True)
class WeightedClauses:
    """Exactly P clauses and their weights; a clause repeated k times has weight 1/k each."""

    clauses: tuple[str, ...]
    weights: tuple[float, ...]


def clauses_with_weights(caption: str, count: int, rng: random.Random | None = None) -> WeightedClauses:
    """Split ``caption`` and pad or cut to ``count`` clauses with repeat weights.

    Without ``rng``: the first ``count`` clauses, padded by cycling.  With ``rng``, as the
    official code of Mahmud et al. draws them: a random ``count`` of a longer caption, or all
    clauses of a shorter one plus random repeats.  Weights sum to the number of distinct clauses
    kept, so that sum_k w_k S(t_k) counts every source once in the consistency loss.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    clauses = split_caption(caption)
    if rng is None:
        kept = clauses[:count]
        chosen = [kept[i % len(kept)] for i in range(count)]
    elif len(clauses) > count:
        chosen = rng.sample(clauses, count)
    else:
        chosen = clauses + [rng.choice(clauses) for _ in range(count - len(clauses))]
    copies = {c: chosen.count(c) for c in chosen}
    return WeightedClauses(tuple(chosen), tuple(1.0 / copies[c] for c in chosen))
