"""Instruments played from recorded samples: GUS patch reading, pitch, the reviewed table, splits and determinism."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.data.realinstruments import (
    TABLE,
    PatchFile,
    RealInstrumentSettings,
    build_realinstruments,
    class_splits,
    play_note,
    read_patch,
)
from research.data.realspeech_table import read_rows
from research.data.sfx_table import class_labels, class_parents, class_words
from soundsift.errors import SoundsiftError
from soundsift.training.data.vocabulary import INSTRUMENTS
from tests.test_data_helpers import assert_groups_disjoint, check_corpus, corpus_hashes

RATE = 16000
WANTED = {"electric guitar", "organ", "bass guitar", "strings ensemble", "brass section", "harp", "synth pad",
          "singing voice", "percussion", "drums", "drum machine", "kick drum", "snare drum", "hi-hat", "tom-tom",
          "cymbal", "tabla", "electric piano", "harpsichord", "clavinet", "celesta", "glockenspiel", "tubular bells",
          "dulcimer", "timpani", "trombone", "french horn", "oboe", "piccolo", "recorder", "pan flute", "sitar", "steel drums",
          "classical guitar", "jazz guitar", "double bass", "muted trumpet", "alto saxophone", "tenor saxophone",
          "baritone saxophone", "electric grand piano", "synth lead", "steel-string guitar"}


def gus_patch(root_hz: float = 261.63, seconds: float = 0.5, rate: int = 22050) -> bytes:
    """A one-sample 16-bit looping GUS patch holding a sine at ``root_hz`` (a whole number of periods)."""
    periods = round(seconds * root_hz)
    n = round(periods * rate / root_hz)
    wave = (12000 * np.sin(2 * np.pi * np.arange(n) * periods / n)).astype("<i2").tobytes()
    header = bytearray(239)
    header[:22] = b"GF1PATCH110\0ID#000002\0"
    struct.pack_into("<H", header, 85, 1)
    sample = bytearray(96)
    struct.pack_into("<IIIHIII", sample, 8, len(wave), 0, len(wave), rate, 20_000, 20_000_000, round(root_hz * 1000))
    sample[55] = 0x01 | 0x04
    return bytes(header + sample) + wave


def _peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum)) * RATE / len(audio)


def test_patch_samples_are_read_and_played_at_the_asked_pitch_past_their_length():
    samples = tuple(read_patch(gus_patch(), "sine.pat"))
    assert len(samples) == 1 and samples[0].loop is not None and samples[0].root_hz == pytest.approx(261.63)
    note = play_note(samples, 440.0, 2.0, RATE)  # four times the sample's length: the loop keeps it sounding
    assert len(note) == 2 * RATE and np.abs(note[int(1.5 * RATE):int(1.8 * RATE)]).max() > 0.3
    assert _peak_hz(note[: int(1.8 * RATE)]) == pytest.approx(440, abs=3)
    assert abs(note[-1]) < 1e-3  # released
    with pytest.raises(SoundsiftError, match="x.pat: not a GUS patch"):
        read_patch(b"RIFF....", "x.pat")


def test_reviewed_table_covers_the_wanted_instruments_with_licences():
    rows = read_rows(TABLE, PatchFile)
    assert {r.label for r in rows} == WANTED and WANTED & set(INSTRUMENTS) == {"drums"}
    assert WANTED <= set(class_words())
    for r in rows:
        assert r.licence and r.caption and r.recording.startswith(r.package.split("-")[0])
        assert (int(r.low) < int(r.high)) == r.pitched
    assert len({(r.label, r.path) for r in rows}) == len(rows)


def test_a_kit_shared_by_several_classes_lands_in_one_split_in_all_of_them():
    rows = read_rows(TABLE, PatchFile)
    split_of: dict[str, set[str]] = {}
    for splits in class_splits(rows, RealInstrumentSettings()).values():
        for recording, split in splits.items():
            split_of.setdefault(recording, set()).add(split)
    assert split_of["hydrogen:colombo"] and all(len(s) == 1 for s in split_of.values()), split_of


def test_drum_parts_carry_drums_as_a_second_label():
    parents = class_parents()
    assert class_labels("kick drum", parents) == ("kick drum", "drums")
    assert class_labels("drums", parents) == ("drums",)
    classes = {r.label for r in read_rows(TABLE, PatchFile)}
    assert {"drums", "percussion", "electric guitar"} <= {p for c, p in parents.items() if c in classes}
    assert all(p in classes or p in INSTRUMENTS for c, p in parents.items() if c in classes)


def _tree(root: Path) -> tuple[PatchFile, ...]:
    folder = root / "pats"
    folder.mkdir(parents=True)
    rows = []
    for i, hz in enumerate((110.0, 220.0, 330.0, 440.0)):
        (folder / f"organ{i}.pat").write_bytes(gus_patch(hz))
        rows.append(PatchFile("organ", "pkg", f"pats/organ{i}.pat", "an organ plays", f"pkg:organ{i}", "GPL-2.0-or-later",
                              "40", "80"))
    (folder / "hit.pat").write_bytes(gus_patch(300.0, 0.2))
    rows.append(PatchFile("percussion", "pkg", "pats/hit.pat", "a drum is hit", "pkg:hit", "GPL-2.0-or-later", "0", "0"))
    for name, hz in (("kick", 60.0), ("snare", 200.0)):  # a kit of plain audio files: one recording
        t = np.arange(int(0.3 * RATE)) / RATE
        soundfile.write(folder / f"{name}.wav", 0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 10), RATE)
        rows.append(PatchFile("drums", "pkg", f"pats/{name}.wav", "a drum kit is played", "pkg:kit", "CC0-1.0", "0", "0"))
    return tuple(rows)


def test_corpus_is_split_by_patch_and_the_same_with_one_or_two_workers(tmp_path: Path):
    rows = _tree(tmp_path / "tree")
    settings = RealInstrumentSettings(clips_per_class=12, seed=4)
    build_realinstruments(tmp_path / "a", settings, 1, False, rows, {"pkg": str(tmp_path / "tree")})
    entries = check_corpus(tmp_path / "a")
    assert {e.label for e in entries} == {"organ", "percussion", "drums"}
    assert all(e.origin == ("pkg:pats/kick.wav", "pkg:pats/snare.wav") for e in entries if e.label == "drums")
    assert all(e.meta == {"noun": "an organ", "clause": "an organ plays"} for e in entries if e.label == "organ")
    assert_groups_disjoint([e for e in entries if e.label == "organ"])
    assert {e.split for e in entries if e.label == "organ"} >= {"train", "test"}
    build_realinstruments(tmp_path / "b", settings, 2, False, rows, {"pkg": str(tmp_path / "tree")})
    assert corpus_hashes(tmp_path / "a") == corpus_hashes(tmp_path / "b")


def test_a_listed_patch_missing_from_the_package_is_named(tmp_path: Path):
    rows = _tree(tmp_path / "tree")
    (tmp_path / "tree" / "pats" / "hit.pat").unlink()
    with pytest.raises(SoundsiftError, match=r"pkg:pats/hit\.pat: listed in the instrument table"):
        build_realinstruments(tmp_path / "c", RealInstrumentSettings(), 1, False, rows, {"pkg": str(tmp_path / "tree")})
