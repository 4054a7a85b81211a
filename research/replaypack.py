"""``python -m research replaypack``: the small replay pack that ships with soundsift (docs/finetuning.md).

From any corpus folders (``manifest.jsonl`` as ``python -m research data ...`` writes them) it
takes, per class, a few seeded single-source clips of the train split for replay and one of
the test split for the forgetting check, cuts each to its loudest ``seconds``, and writes them
as Ogg Vorbis at 16 kHz with a manifest that keeps every clip's source, licence and origin,
and a LICENCES.md listing them.  The same corpora and seed give the same selection.
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile

from research.data.build import seed_rng, slug
from soundsift.audio import read_audio, resample
from soundsift.cli_args import positive_int, positive_seconds
from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import Entry, corpus_root, read_manifest, write_manifest
from soundsift.training.data.vocabulary import class_phrase

PACK_RATE = 16000


def add_replaypack_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``replaypack`` on the research command."""
    p = sub.add_parser("replaypack", help="build the replay pack shipped with soundsift from corpus folders")
    p.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS", help="corpus folders to take clips from")
    p.add_argument("-o", "--out", type=Path, default=Path("soundsift/pretrained/replay"), metavar="DIR")
    p.add_argument("--clips-per-class", type=positive_int, default=2, metavar="N", help="replay clips per class")
    p.add_argument("--seconds", type=positive_seconds, default=3.0, help="clip length (default: 3)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    entries = build_replay_pack(args.corpora, args.out, args.clips_per_class, args.seconds, args.seed)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    classes = len({e.label for e in entries})
    print(f"wrote {len(entries)} clips of {classes} classes to {args.out} ({size / 1e6:.1f} MB)")
    return 0


def build_replay_pack(corpora: Sequence[Path], out: Path, per_class: int = 2, seconds: float = 3.0,
                      seed: int = 0) -> list[Entry]:
    """Write the pack to ``out`` (replaced whole) and return its manifest entries."""
    chosen = _choose(corpora, per_class, seed)
    if not chosen:
        raise SoundsiftError(f"no single-source train clips in {', '.join(map(str, corpora))}")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("clips/*.ogg"):
        old.unlink()
    entries = []
    counts: Counter[str] = Counter()
    for root, entry in chosen:
        name = f"clips/{entry.split}-{slug(entry.label)}-{counts[entry.split, entry.label]}.ogg"
        counts[entry.split, entry.label] += 1
        audio, rate = read_audio(root / entry.path)
        audio = _loudest(resample(audio.mean(axis=0, keepdims=True), rate, PACK_RATE)[0], round(seconds * PACK_RATE))
        _write_vorbis(out / name, audio)
        words = {key: entry.meta[key] for key in ("noun", "clause") if key in entry.meta}
        entries.append(replace(entry, path=name, duration=len(audio) / PACK_RATE, sample_rate=PACK_RATE,
                               stems=(), meta={**words, "from": f"{root.name}/{entry.path}"}))
    write_manifest(out / "manifest.jsonl", entries)
    (out / "LICENCES.md").write_text(_licences(entries), encoding="utf-8")
    (out / "build.json").write_text(json.dumps({"recipe": "replaypack", "corpora": [Path(c).name for c in corpora],
                                                "clips_per_class": per_class, "seconds": seconds, "seed": seed},
                                               indent=2) + "\n", encoding="utf-8")
    return entries


def _choose(corpora: Sequence[Path], per_class: int, seed: int) -> list[tuple[Path, Entry]]:
    """Per class training can caption: ``per_class`` train clips and one test clip, each class drawn by its own
    generator (adding a corpus does not change the other classes' picks)."""
    pools: dict[tuple[str, str], list[tuple[Path, Entry]]] = defaultdict(list)
    for corpus in corpora:
        root = corpus_root(corpus)
        for entry in read_manifest(corpus):
            if not entry.stems and entry.split in ("train", "test") and _has_phrase(entry):
                pools[entry.label, entry.split].append((root, entry))
    chosen = []
    for (label, split), pool in sorted(pools.items()):
        count = per_class if split == "train" else 1
        picks = seed_rng(seed, label, split).choice(len(pool), size=min(count, len(pool)), replace=False)
        chosen += [pool[i] for i in sorted(picks)]
    return chosen


def _write_vorbis(path: Path, audio: np.ndarray) -> None:
    """Ogg Vorbis at :data:`PACK_RATE`, written under a temporary name and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
    soundfile.write(temp, audio, PACK_RATE, format="OGG", subtype="VORBIS")
    os.replace(temp, path)


def _has_phrase(entry: Entry) -> bool:
    """True for a clip training can caption, by the vocabulary or by its manifest's words (the pack is
    replayed through the trainer's batches, so a real-recording class keeps its ``noun`` and ``clause``)."""
    try:
        class_phrase(entry.label, entry.meta)
    except SoundsiftError:
        return False
    return True


def _loudest(audio: np.ndarray, samples: int) -> np.ndarray:
    """The ``samples``-long window of highest energy (the whole clip when it is shorter)."""
    if len(audio) <= samples:
        return audio
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[samples:] - energy[:-samples]))
    return audio[start:start + samples]


def _licences(entries: Sequence[Entry]) -> str:
    """LICENCES.md: each source with its licence and how many clips come from it."""
    by_source = Counter((e.source, e.licence) for e in entries)
    lines = ["# Replay pack: sources and licences", "",
             "Clips cut from the corpora below (each clip's origin is in manifest.jsonl).", "",
             "| source | licence | clips |", "| --- | --- | --- |"]
    lines += [f"| {source} | {licence} | {n} |" for (source, licence), n in sorted(by_source.items())]
    return "\n".join(lines) + "\n"
