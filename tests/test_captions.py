"""Caption -> clause splitting on hand-written AudioCaps-style captions."""
from __future__ import annotations

import pytest

from soundsift.training.captions import clauses_with_weights, split_caption

CASES = [
    ("A man talks while a dog barks", ["a man talks", "a dog barks"]),
    ("a bassoon plays as drums are played", ["a bassoon plays", "drums are played"]),
    ("an electric bass plays with drums in the background", ["an electric bass plays", "drums in the background"]),
    ("a trumpet plays with drums and an accordion in the background",
     ["a trumpet plays", "drums", "an accordion in the background"]),
    ("a man speaks with excitement as bells ring", ["a man speaks with excitement", "bells ring"]),
    ("rain falls with sea waves in the background", ["rain falls", "sea waves in the background"]),
    ("a lion roars as something explodes and an engine revs", ["a lion roars", "something explodes", "an engine revs"]),
    ("a pig grunts with hooves clattering, an explosion and an engine running in the background",
     ["a pig grunts", "hooves clattering", "an explosion", "an engine running in the background"]),
    ("a dog barks and a cat meows", ["a dog barks", "a cat meows"]),
    ("Rain falls, thunder rumbles", ["rain falls", "thunder rumbles"]),
    ("A man speaks followed by an engine starting", ["a man speaks", "an engine starting"]),
    ("A car passes by then a horn honks", ["a car passes by", "a horn honks"]),
    ("A woman speaks after a bell rings", ["a woman speaks", "a bell rings"]),
    ("A man speaks as a crowd cheers", ["a man speaks", "a crowd cheers"]),
    ("A woman talks with a baby crying in the background", ["a woman talks", "a baby crying in the background"]),
    ("A man and woman are talking", ["a man and woman are talking"]),
    ("A man and a woman speak while music plays", ["a man and a woman speak", "music plays"]),
    ("A light flickers on and off while a fan hums", ["a light flickers on and off", "a fan hums"]),
    ("A saw moves back and forth", ["a saw moves back and forth"]),
    ("Water splashes and birds chirp", ["water splashes", "birds chirp"]),
    ("Wind blows, leaves rustle and a bird sings", ["wind blows", "leaves rustle", "a bird sings"]),
    ("the sound of a violin", ["the sound of a violin"]),
    ("a violin and a flute", ["a violin", "a flute"]),
    ("A man speaks with excitement", ["a man speaks with excitement"]),
    ("An engine idles and then revs up", ["an engine idles", "revs up"]),
    ("People clap and cheer as a band plays", ["people clap", "cheer", "a band plays"]),
    ("A crowd applauds, followed by a man speaking", ["a crowd applauds", "a man speaking"]),
    ("Someone types on a keyboard while a phone rings.", ["someone types on a keyboard", "a phone rings"]),
    ("A train horn blows as the train passes", ["a train horn blows", "the train passes"]),
    ("Birds chirp over the sound of a stream", ["birds chirp", "the sound of a stream"]),
    ("A child laughs and a dog barks, then a door slams", ["a child laughs", "a dog barks", "a door slams"]),
    ("Music plays along with people singing", ["music plays", "people singing"]),
    ("A motorcycle engine revs louder and louder", ["a motorcycle engine revs louder and louder"]),
    ("Boys and girls shout on a playground", ["boys and girls shout on a playground"]),
    ("A speech given by a man, accompanied by applause", ["a speech given by a man", "applause"]),
    ("Rain pours down; thunder cracks", ["rain pours down", "thunder cracks"]),
    ("A helicopter flies overhead while wind blows", ["a helicopter flies overhead", "wind blows"]),
    ("A duck quacks as water flows", ["a duck quacks", "water flows"]),
    ("Ladies and gentlemen are welcomed by a host", ["ladies and gentlemen are welcomed by a host"]),
    ("A woman sings while a guitar is strummed", ["a woman sings", "a guitar is strummed"]),
    ("A piano plays, a cello joins", ["a piano plays", "a cello joins"]),
    ("A vehicle accelerates before a siren wails", ["a vehicle accelerates", "a siren wails"]),
    ("a saxophone, a trumpet and a tuba", ["a saxophone", "a trumpet", "a tuba"]),
    ("A man hammers a nail with a hammer", ["a man hammers a nail with a hammer"]),
    ("Footsteps echo as someone walks in a hall", ["footsteps echo", "someone walks in a hall"]),
    ("A clock ticks with birds singing outside", ["a clock ticks", "birds singing outside"]),
    ("A faucet runs as well as a dishwasher", ["a faucet runs", "a dishwasher"]),
    ("A person whistles and snaps fingers", ["a person whistles", "snaps fingers"]),
    ("An airplane engine drones while people talk quietly", ["an airplane engine drones", "people talk quietly"]),
    ("Rock and roll music plays", ["rock and roll music plays"]),
    ("a dog barking", ["a dog barking"]),
    ("Waves crash, gulls cry, and wind howls", ["waves crash", "gulls cry", "wind howls"]),
    ("A faucet runs, as well as a dishwasher", ["a faucet runs", "a dishwasher"]),
]


@pytest.mark.parametrize("caption,expected", CASES)
def test_split_caption(caption, expected):
    assert split_caption(caption) == expected


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "caption,count,clauses,weights",
    [
        ("a dog barks", 2, ("a dog barks", "a dog barks"), (0.5, 0.5)),
        ("a dog barks and a cat meows", 3, ("a dog barks", "a cat meows", "a dog barks"), (0.5, 1.0, 0.5)),
        ("a dog barks and a cat meows", 2, ("a dog barks", "a cat meows"), (1.0, 1.0)),
        ("a, b, c", 2, ("a", "b"), (1.0, 1.0)),
    ],
)
def test_clauses_with_weights(caption, count, clauses, weights):
    result = clauses_with_weights(caption, count)
    assert result.clauses == clauses and result.weights == weights


def test_weights_count_each_source_once():
    result = clauses_with_weights("rain falls while a man talks", 5)
    assert abs(sum(result.weights) - 2) < 1e-9
    with pytest.raises(ValueError):
        clauses_with_weights("x", 0)


@pytest.mark.parametrize("count", [2, 3, 4])
def test_composed_captions_of_every_class_split_into_one_clause_per_source(count):
    import numpy as np

    from soundsift.training.data.compose import compose_caption
    from soundsift.training.data.vocabulary import VOCABULARY

    labels = sorted(VOCABULARY)
    rng = np.random.default_rng(count)
    wrong = []
    for _ in range(1500):
        chosen = rng.choice(labels, size=count, replace=False)
        caption = compose_caption([VOCABULARY[str(label)] for label in chosen], rng)
        if len(split_caption(caption)) != count:
            wrong.append(caption)
    assert not wrong, wrong[:5]
