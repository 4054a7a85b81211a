"""How each class is said in words: a noun phrase and a clause, for captions and queries.

Single-clip captions and composed mixture captions both draw on this table, so the words
for a class are written down once and reviewed here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from soundsift.errors import SoundsiftError


@dataclass(frozen=True)
class Phrase:
    """``noun``: "a violin"; ``clause``: "a violin plays" (subject + verb, no full stop)."""

    noun: str
    clause: str


INSTRUMENTS: dict[str, Phrase] = {
    "accordion": Phrase("an accordion", "an accordion plays"),
    "acoustic guitar": Phrase("an acoustic guitar", "an acoustic guitar is strummed"),
    "bagpipe": Phrase("a bagpipe", "a bagpipe drones"),
    "bassoon": Phrase("a bassoon", "a bassoon plays"),
    "cello": Phrase("a cello", "a cello plays"),
    "clarinet": Phrase("a clarinet", "a clarinet plays"),
    "drums": Phrase("drums", "drums are played"),
    "electric bass": Phrase("an electric bass", "an electric bass plays"),
    "flute": Phrase("a flute", "a flute plays"),
    "piano": Phrase("a piano", "a piano plays"),
    "saxophone": Phrase("a saxophone", "a saxophone plays"),
    "trumpet": Phrase("a trumpet", "a trumpet plays"),
    "tuba": Phrase("a tuba", "a tuba plays"),
    "violin": Phrase("a violin", "a violin plays"),
    "xylophone": Phrase("a xylophone", "a xylophone is struck"),
}

SPEECH: dict[str, Phrase] = {
    "man speaking": Phrase("a man speaking", "a man speaks"),
    "woman speaking": Phrase("a woman speaking", "a woman speaks"),
}

SOUND_EFFECTS: dict[str, Phrase] = {
    "birds": Phrase("birds chirping", "birds chirp"),
    "chopping wood": Phrase("an axe chopping wood", "an axe chops wood"),
    "chicken": Phrase("a chicken clucking", "a chicken clucks"),
    "cow": Phrase("a cow mooing", "a cow moos"),
    "crowd": Phrase("a crowd murmuring", "a crowd murmurs"),
    "digging": Phrase("a hoe digging soil", "a hoe digs into soil"),
    "elephant": Phrase("an elephant trumpeting", "an elephant trumpets"),
    "engine": Phrase("an engine running", "an engine revs"),
    "explosion": Phrase("an explosion", "something explodes"),
    "fire": Phrase("a fire crackling", "a fire crackles"),
    "footsteps": Phrase("footsteps", "someone walks"),
    "goat": Phrase("a goat bleating", "a goat bleats"),
    "hooves": Phrase("hooves clattering", "a horse trots"),
    "horse": Phrase("a horse neighing", "a horse neighs"),
    "leaves": Phrase("leaves rustling", "leaves rustle"),
    "lion": Phrase("a lion roaring", "a lion roars"),
    "pickaxe": Phrase("a pickaxe striking rock", "a pickaxe strikes rock"),
    "pig": Phrase("a pig grunting", "a pig grunts"),
    "rain": Phrase("rain", "rain falls"),
    "saw": Phrase("a saw cutting wood", "a saw cuts wood"),
    "scream": Phrase("a person screaming", "a person screams"),
    "sheep": Phrase("a sheep bleating", "a sheep bleats"),
    "thunder": Phrase("thunder", "thunder rumbles"),
    "train": Phrase("a steam train", "a steam train passes"),
    "water": Phrase("running water", "water flows"),
    "waves": Phrase("sea waves", "waves crash on the shore"),
    "wind": Phrase("wind", "wind blows"),
}

VOCABULARY: dict[str, Phrase] = {**INSTRUMENTS, **SPEECH, **SOUND_EFFECTS}


@dataclass(frozen=True)
class Paraphrase:
    """A query worded unlike any training caption, and the classes it should find."""

    query: str
    targets: tuple[str, ...]


PARAPHRASES: tuple[Paraphrase, ...] = (
    Paraphrase("fiddle", ("violin",)),
    Paraphrase("a person talking", ("man speaking", "woman speaking")),
    Paraphrase("a guy talking", ("man speaking",)),
    Paraphrase("a lady talking", ("woman speaking",)),
    Paraphrase("sax", ("saxophone",)),
    Paraphrase("a drum kit", ("drums",)),
    Paraphrase("bass guitar", ("electric bass",)),
    Paraphrase("a keyboard instrument", ("piano",)),
    Paraphrase("a rooster", ("chicken",)),
    Paraphrase("a car motor", ("engine",)),
    Paraphrase("a campfire", ("fire",)),
    Paraphrase("a downpour", ("rain",)),
    Paraphrase("walking steps", ("footsteps",)),
    Paraphrase("a locomotive", ("train",)),
    Paraphrase("a stream", ("water",)),
    Paraphrase("songbirds", ("birds",)),
    Paraphrase("a breeze", ("wind",)),
    Paraphrase("a blast", ("explosion",)),
    Paraphrase("ocean surf", ("waves",)),
)


def phrase(label: str) -> Phrase:
    """The phrase for a class; an unknown class is an error, never a guess."""
    try:
        return VOCABULARY[label]
    except KeyError:
        raise SoundsiftError(f"no vocabulary entry for class '{label}'") from None


def query(label: str) -> str:
    """The evaluation query of the paper's protocol: "the sound of {noun}"."""
    return f"the sound of {phrase(label).noun}"


def paraphrases_for(labels: Iterable[str]) -> list[Paraphrase]:
    """The paraphrases whose target classes are all among ``labels``."""
    known = set(labels)
    return [p for p in PARAPHRASES if set(p.targets) <= known]
