"""The build loop every recipe shares: resume, render in worker processes, write, manifest.

A recipe turns its settings into a list of :class:`Job` batches up front (all randomness is
drawn there, from the seed), so rendering a batch is a pure function of the batch: the same seed
gives the same bytes whatever the order, the worker, or how often the build was resumed.
Finished files are skipped; every file is written atomically, and the manifest is written
last, listing only clips that exist.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from soundsift.audio import write_audio
from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import MANIFEST_NAME, Entry, write_manifest

SETTINGS_NAME = "build.json"

Renderer = Callable[[Any], "dict[str, np.ndarray]"]


@dataclass(frozen=True)
class Job:
    """A batch of manifest entries made together, and the picklable spec its renderer needs.

    The renderer returns the audio of every file of every entry it keeps (keyed by path
    relative to the corpus root); an entry whose file it leaves out is dropped (a crop that
    turned out silent).  A batch is always rendered whole, so anything stateful inside it
    (a synthesizer) starts fresh for the same entries every time.
    """

    entries: tuple[Entry, ...]
    spec: Any
    bit_depth: str = "16"  # not "32f": libsndfile stamps float WAVs with the time (PEAK chunk)

    def files(self) -> tuple[str, ...]:
        """Every file the batch writes (each entry's audio, plus stems for mixtures)."""
        return tuple(p for e in self.entries for p in (e.path, *(s.path for s in e.stems)))


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    manifest: Path
    written: int
    reused: int
    dropped: int
    entries: int


def check_settings(root: Path, settings: Mapping[str, Any]) -> None:
    """Refuse to resume a corpus that was started with other settings; record them otherwise."""
    path = root / SETTINGS_NAME
    wanted = json.loads(json.dumps(settings))
    if path.is_file():
        found = json.loads(path.read_text())
        if found != wanted:
            changed = sorted(k for k in set(found) | set(wanted) if k not in found or k not in wanted or found[k] != wanted[k])
            raise SoundsiftError(
                f"{root}: this corpus was started with other settings ({', '.join(changed)} differ); "
                "build into a new folder, or delete this one to start over"
            )
        return
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")


def run_jobs(
    root: Path, jobs: Sequence[Job], render: Renderer, workers: int, desc: str, progress: bool = True,
) -> BuildReport:
    """Render the batches with missing files, then write the manifest of every finished entry."""
    todo = [job for job in jobs if not all((root / p).is_file() for p in job.files())]
    dropped: set[str] = set()
    total = sum(len(job.entries) for job in todo)
    bar = tqdm(total=total, desc=desc, unit="clip", disable=not progress or None, smoothing=0.05)
    tasks = [(root, job, render) for job in todo]
    try:
        if workers > 1 and len(todo) > 1:
            with process_pool(workers) as pool:
                chunk = max(1, min(16, len(tasks) // (workers * 8)))
                for lost, count in pool.map(_render_and_write, tasks, chunksize=chunk):
                    dropped.update(lost)
                    bar.update(count)
        else:
            for task in tasks:
                lost, count = _render_and_write(task)
                dropped.update(lost)
                bar.update(count)
    finally:
        bar.close()
    entries = [e for job in jobs for e in job.entries]
    done = [e for e in entries if e.path not in dropped and (root / e.path).is_file()]
    manifest = write_manifest(root / MANIFEST_NAME, done)
    return BuildReport(manifest, total - len(dropped), len(entries) - total, len(dropped), len(done))


def _render_and_write(task: tuple[Path, Job, Renderer]) -> tuple[list[str], int]:
    root, job, render = task
    audio = render(job.spec)
    lost = []
    for entry in job.entries:
        if entry.path not in audio:
            lost.append(entry.path)
            continue
        for rel in (entry.path, *(s.path for s in entry.stems)):
            if rel not in audio:
                raise SoundsiftError(f"internal error: renderer made no audio for {rel}")
            if not (root / rel).is_file():
                write_audio(root / rel, audio[rel][None, :], entry.sample_rate, job.bit_depth)
    return lost, len(job.entries)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes started fresh ("spawn"): forking a process that already ran native
    audio libraries (FluidSynth's threads and locks) can deadlock the children."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def seed_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A generator for one item of a build, independent of every other item's draws."""
    words = [seed] + [k if isinstance(k, int) else int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "big")
                      for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def slug(text: str) -> str:
    """A file-name-safe form of a class name ("acoustic guitar" -> "acoustic_guitar")."""
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
