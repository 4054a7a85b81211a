"""Checks shared by the recipe tests (imported by them; holds no tests itself)."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import soundfile

from soundsift.training.data.levels import active_fraction, rms_db
from soundsift.training.data.manifest import Entry, read_manifest


def corpus_hashes(root: Path) -> dict[str, str]:
    """sha256 of every audio file and of the manifest, by relative path."""
    files = sorted(p for p in root.rglob("*") if p.suffix in {".wav", ".jsonl"})
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def check_corpus(root: Path) -> list[Entry]:
    """Schema (via read_manifest), files present, captions present, no silent clips."""
    entries = read_manifest(root)
    assert entries
    for e in entries:
        assert e.caption.strip() and e.labels and e.licence and e.source
        for rel in (e.path, *(s.path for s in e.stems)):
            audio, rate = soundfile.read(root / rel, dtype="float32")
            assert rate == e.sample_rate == 16000
            assert len(audio) == round(e.duration * rate)
            if not e.stems:
                assert active_fraction(audio, rate) >= 0.1, rel
                assert rms_db(audio) > -30, rel
    return entries


def class_counts(entries: list[Entry], split: str) -> Counter[str]:
    return Counter(e.label for e in entries if e.split == split and not e.stems)


def assert_groups_disjoint(entries: list[Entry]) -> None:
    """No group (score, recording, sentence) appears in two splits."""
    where: dict[str, set[str]] = {}
    for e in entries:
        for group in e.group.split("+"):
            where.setdefault(group, set()).add(e.split)
    mixed = {g: s for g, s in where.items() if len(s) > 1}
    assert not mixed, mixed
