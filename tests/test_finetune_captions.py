"""File-name captions from real sample libraries: codes, takes and edit words dropped, class words mapped."""
import pytest

from soundsift.training.finetune.captions import caption_from_name, default_name_words
from soundsift.training.finetune.name_words import load_name_words, stem
from soundsift.vocabulary import SoundClass, Vocabulary

KNOWN = frozenset({"dog", "bark", "wreck", "speech", "door", "slam", "man", "speaking", "chopping", "wood", "rain",
                   "train", "window", "wind", "gravel", "hum"})
VOCABULARY = Vocabulary((SoundClass("man speaking", "speech", ()), SoundClass("chopping wood", "sfx", ()),
                         SoundClass("footsteps", "sfx", ()), SoundClass("rain", "sfx", ()),
                         SoundClass("wind", "sfx", ())))


@pytest.fixture()
def names():
    return load_name_words(VOCABULARY, KNOWN)


@pytest.mark.parametrize(("path", "caption"), [
    ("dogs/bark_la_cut.ogg", "bark"),                 # a code ("la") and an edit word ("cut") dropped
    ("Dog_BarkLA_cut03.wav", "dog bark"),             # camel case and digits split
    ("wreck/cs/tady.ogg", "wreck"),                   # no known word in the name: the folder that has one
    ("ChoppingWood01.wav", "chopping wood"),          # a class label, found across a digit boundary
    ("voices/ManSpeaking_take2.wav", "man speaking"),
    ("sfx/Footstep_Gravel_03.wav", "footsteps gravel"),  # plural of a class word mapped to the label
    ("mainshums/MainsHum_03.wav", "mains hum"),       # unknown words kept beside known ones
    ("crackles/Crackle_00.wav", "crackle"),           # nothing known anywhere: the file name's words as text
])
def test_real_library_names(names, path, caption):
    assert names.caption(path) == caption


def test_similar_words_are_not_mapped(names):
    assert names.caption("Train_Window.wav") == "train window"


def test_stem_joins_inflections_only():
    assert stem("chopping") == stem("chop") and stem("birds") == stem("bird") and stem("barking") == stem("bark")
    assert stem("window") != stem("wind") and stem("train") != stem("rain")


def test_default_cleaning_maps_to_the_bundled_classes():
    assert caption_from_name("x/WomanSpeaking-final.wav", default_name_words()) == "woman speaking"
