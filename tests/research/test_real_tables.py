"""The reviewed tables of the real-recording recipes: they load, name known classes and licences,
hold out whole packages, and never name a package reserved for acceptance tests."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from research.data import debian
from research.data.musicbeds import genres, tracks_table
from research.data.realspeech_table import HELDOUT_TABLE, HeldOut, Voice, read_rows, voices
from soundsift.errors import SoundsiftError
from soundsift.training.data.vocabulary import SPEECH

LICENCE = re.compile(r"^(GPL|LGPL|CC0|CC-BY|MIT|BSD|Expat|public-domain)[A-Za-z0-9.+-]*$")
RESEARCH = Path(debian.__file__).parents[1]


def test_every_voice_names_a_speech_class_a_language_and_a_licence():
    rows = voices()
    assert len(rows) >= 30
    assert {v.gender for v in rows} == set(SPEECH)
    for v in rows:
        assert v.gender in SPEECH and LICENCE.match(v.licence), v
        assert v.language[0].isupper() and v.basis and v.files.strip() == v.files, v


def test_every_track_row_names_a_music_class_and_a_licence():
    words = genres()
    rows = tracks_table()
    assert "music" in words and len(words) >= 6
    for row in rows:
        assert row.label in words and LICENCE.match(row.licence), row
        assert row.recording == "file" or row.recording.startswith(row.package + ":"), row


def test_held_out_packages_are_sources_of_their_domain():
    held = read_rows(HELDOUT_TABLE, HeldOut)
    speech = {r.package for r in held if r.domain == "speech"}
    music = {r.package for r in held if r.domain == "music"}
    assert speech and speech <= {v.package for v in voices()}
    assert music and music <= {r.package for r in tracks_table()}
    assert {v.package for v in voices()} - speech, "some speech package must stay for training"


def test_no_table_or_recipe_names_a_reserved_package():
    files = [p for p in RESEARCH.rglob("*") if p.suffix in {".py", ".tsv", ".toml", ".json"} and p.is_file()]
    assert any(p.name == "realspeech_voices.tsv" for p in files)
    for path in files:
        if path == Path(debian.__file__):
            continue  # where the refusal itself lives
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in debian.RESERVED:
            assert name not in text, f"{path} names {name}"


def test_a_table_with_a_wrong_header_or_an_empty_field_is_one_clear_error(tmp_path: Path):
    bad = tmp_path / "voices.tsv"
    bad.write_text("voice\tpackage\n")
    with pytest.raises(SoundsiftError, match="header"):
        read_rows(bad, Voice)
    bad.write_text("\t".join(Voice._fields) + "\n" + "a\tb\tc\tman speaking\t\tGPL-2\tx" + "\n")
    with pytest.raises(SoundsiftError, match=r"voices.tsv:2: expected 7 non-empty"):
        read_rows(bad, Voice)


def test_a_voice_listed_twice_is_refused(tmp_path: Path):
    row = "v1\tpkg\ta/*.ogg\tman speaking\tEnglish\tGPL-2\tpitch"
    path = tmp_path / "voices.tsv"
    path.write_text("\t".join(Voice._fields) + f"\n{row}\n{row}\n")
    with pytest.raises(SoundsiftError, match="listed twice"):
        voices(path)

