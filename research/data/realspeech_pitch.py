"""Median voice pitch (F0) by YIN, used to check the gender column of the voice table.

Adult male speaking voices sit around 85-155 Hz, adult female ones around 165-255 Hz; the
check flags a voice whose median F0 falls on the other side of :data:`BOUNDARY_HZ` from its
table label (or inside the :data:`MARGIN_HZ` band around it, where pitch alone cannot tell).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from soundsift.audio import read_audio
from soundsift.training.data.manifest import Entry, read_manifest

BOUNDARY_HZ = 160.0
MARGIN_HZ = 12.0
FMIN, FMAX = 60.0, 420.0
THRESHOLD = 0.15  # YIN's aperiodicity threshold: lower dips mark a voiced frame


def frame_f0(audio: np.ndarray, rate: int, frame_s: float = 0.04, hop_s: float = 0.01) -> np.ndarray:
    """F0 in Hz of each voiced frame of a mono signal (YIN: first cumulative-mean-normalised dip)."""
    width, hop = int(frame_s * rate), int(hop_s * rate)
    max_lag, min_lag = int(rate / FMIN), int(rate / FMAX)
    if len(audio) < width + max_lag:
        return np.zeros(0)
    starts = np.arange(0, len(audio) - width - max_lag, hop)
    index = starts[:, None] + np.arange(width + max_lag)[None, :]
    frames = audio[index].astype(np.float64)
    loud = np.sqrt(np.mean(frames[:, :width] ** 2, axis=1))
    frames = frames[loud > 0.1 * loud.max(initial=0.0)]
    if not len(frames):
        return np.zeros(0)
    head = frames[:, :width]
    diff = np.stack([np.sum((head - frames[:, lag:lag + width]) ** 2, axis=1) for lag in range(1, max_lag + 1)], axis=1)
    cmnd = diff * np.arange(1, max_lag + 1) / np.maximum(np.cumsum(diff, axis=1), 1e-12)
    cmnd[:, :min_lag - 1] = np.inf
    below = cmnd < THRESHOLD
    voiced = below.any(axis=1)
    first = np.argmax(below, axis=1)
    lags = []
    for row, lag in zip(cmnd[voiced], first[voiced]):
        while lag + 1 < max_lag and row[lag + 1] < row[lag]:  # walk down to the dip's bottom
            lag += 1
        lags.append(lag + 1)
    return rate / np.asarray(lags, dtype=np.float64)


def median_f0(clips: Iterable[np.ndarray], rate: int) -> float:
    """Median F0 over the voiced frames of several clips of one voice (NaN if none is voiced)."""
    values = [frame_f0(np.asarray(c, dtype=np.float32), rate) for c in clips]
    f0 = np.concatenate(values) if values else np.zeros(0)
    return float(np.median(f0)) if f0.size else float("nan")


def pitch_gender(f0: float) -> str:
    """"man speaking", "woman speaking", or "unclear" for a median F0 (Hz)."""
    if not np.isfinite(f0) or abs(f0 - BOUNDARY_HZ) < MARGIN_HZ:
        return "unclear"
    return "man speaking" if f0 < BOUNDARY_HZ else "woman speaking"


def check_corpus(corpus: Path, per_voice: int = 20, seed: int = 0) -> list[dict[str, object]]:
    """Per voice of a built speech corpus: its gender label, median F0 over a seeded sample of clips,
    the pitch verdict, and the share of sampled clips whose own median F0 agrees with the label."""
    entries = [e for e in read_manifest(corpus) if e.category == "speech"]
    by_voice: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_voice[str(e.meta.get("voice", e.group))].append(e)
    rows: list[dict[str, object]] = []
    for voice in sorted(by_voice):
        clips = by_voice[voice]
        rng = np.random.default_rng([seed, len(clips)])
        sample = [clips[i] for i in sorted(rng.choice(len(clips), min(per_voice, len(clips)), replace=False))]
        audio = [read_audio(corpus / e.path)[0][0] for e in sample]
        rate = sample[0].sample_rate
        per_clip = [pitch_gender(median_f0([a], rate)) for a in audio]
        label = sample[0].label
        f0 = median_f0(audio, rate)
        rows.append({"voice": voice, "label": label, "basis": sample[0].meta.get("gender_basis", ""),
                     "median_f0": round(f0, 1), "pitch": pitch_gender(f0), "agree": pitch_gender(f0) == label,
                     "clips_agree": sum(v == label for v in per_clip) / len(per_clip)})
    return rows
