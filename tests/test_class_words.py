"""The class words and held-out paraphrases are read from a data file, and a bad entry is named."""
from __future__ import annotations

from pathlib import Path

import pytest

from soundsift.errors import SoundsiftError
from soundsift.training.data.vocabulary import (
    PARAPHRASES,
    VOCABULARY,
    VOCABULARY_FILE,
    Paraphrase,
    Phrase,
    read_vocabulary,
)

GOOD = """
[instruments]
violin = { noun = "a violin", clause = "a violin plays" }
[speech]
"man speaking" = { noun = "a man speaking", clause = "a man speaks" }
[sound_effects]
rain = { noun = "rain", clause = "rain falls" }
[[paraphrases]]
query = "fiddle"
targets = ["violin"]
"""


def test_the_shipped_file_has_every_category_and_paraphrases_of_known_classes():
    tables, paraphrases = read_vocabulary(VOCABULARY_FILE)
    assert tables["instruments"]["violin"] == VOCABULARY["violin"]
    assert VOCABULARY["violin"] == Phrase("a violin", "a violin plays") and len(VOCABULARY) == 44
    assert paraphrases == PARAPHRASES and Paraphrase("fiddle", ("violin",)) in PARAPHRASES
    assert all(set(p.targets) <= set(VOCABULARY) for p in PARAPHRASES)


def test_a_small_file_reads_into_phrases_and_paraphrases(tmp_path: Path):
    path = tmp_path / "words.toml"
    path.write_text(GOOD)
    tables, paraphrases = read_vocabulary(path)
    assert tables["speech"] == {"man speaking": Phrase("a man speaking", "a man speaks")}
    assert paraphrases == (Paraphrase("fiddle", ("violin",)),)


@pytest.mark.parametrize(("change", "message"), [
    (('clause = "rain falls"', 'clause = ""'), r"sound_effects\.rain: expected a non-empty string"),
    (('noun = "a violin", ', ""), r"instruments\.violin: expected \{ noun"),
    (('targets = ["violin"]', 'targets = ["viola"]'), r"paraphrases\[0\]: targets must be a list of known classes"),
    (("[speech]", "[talk]"), r"no \[speech\] table"),
    (("[speech]", "[speech"), "cannot read the vocabulary"),
])
def test_a_bad_entry_is_named_with_the_file(tmp_path: Path, change: tuple[str, str], message: str):
    path = tmp_path / "words.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(SoundsiftError, match=message) as error:
        read_vocabulary(path)
    assert str(path) in str(error.value)
