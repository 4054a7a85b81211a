"""Queries that are audio: "separate what sounds like this clip" (query by example).

A query is either text (``"violin"``) or an :class:`AudioQuery`: one or more example clips
(files or arrays, each optionally cut to a time range), optionally blended with text.  The
encoder's audio tower embeds each example (:mod:`soundsift.model.audio_query`); because the
separator is conditioned on the CLAP space, where audio and text share one embedding, that
embedding is a query like any text's.  See ``docs/query_by_example.md``.

Embedding, exactly (deterministic, no randomness anywhere):

- each example is downmixed, resampled to the model rate and cut to ``start``-``end``;
  it must be at least :data:`MIN_EXAMPLE_SECONDS` long and not silent (RMS above
  :data:`SILENCE_DBFS`), else :class:`~soundsift.errors.AudioError` names the file;
- it is split into windows of :data:`WINDOW_SECONDS` (a short tail joins the window before
  it); silent windows are skipped; the unit embeddings of the windows are averaged and
  renormalised; the examples' embeddings are averaged the same way -> ``a``;
- with text ``t`` and ``text_weight`` w: ``e = normalise((1 - w) a + w E(t))``; without
  text, ``e = a``.

This module imports no torch: the torch-free ONNX engine can name and check such queries
(and refuse them clearly: it carries no audio tower).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, Union

import numpy as np

from soundsift.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, check_audio_array, downmix, read_audio, resample
from soundsift.errors import AudioError, InvalidArgumentError

MIN_EXAMPLE_SECONDS = 0.5
WINDOW_SECONDS = 4.0
SILENCE_DBFS = -60.0
DEFAULT_TEXT_WEIGHT = 0.5
REST = "rest"
AUDIO_QUERY_HELP = ("the ONNX engine has no audio tower, so it cannot embed audio-example queries; "
                    "run them on the torch engine (--engine torch, or engine='torch')")

ExampleLike = Union["AudioExample", str, Path, tuple]
_RANGE = re.compile(r"^(?P<path>.+):(?P<start>\d+(?:\.\d*)?)?-(?P<end>\d+(?:\.\d*)?)?$")


@dataclass(frozen=True, eq=False)
class AudioExample:
    """One reference clip: a file, or an array with its ``sample_rate``; optionally ``start``-``end`` seconds.

    Arrays are ``(channels, samples)`` or 1-D mono.  ``name`` labels the example in errors
    (a file's path by default, ``<array>`` for arrays).
    """

    source: str | Path | np.ndarray
    sample_rate: int | None = None
    start: float | None = None
    end: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.source, (str, Path)):
            object.__setattr__(self, "source", Path(self.source).expanduser())
        elif isinstance(self.source, np.ndarray):
            if self.sample_rate is None:
                raise InvalidArgumentError("an audio example given as an array needs its sample_rate")
            if not MIN_SAMPLE_RATE <= int(self.sample_rate) <= MAX_SAMPLE_RATE:
                raise AudioError(self.label, f"sample rate {self.sample_rate} Hz is outside "
                                             f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
        else:
            raise InvalidArgumentError(f"an audio example is a file path or an array, got {type(self.source).__name__}")
        for which in ("start", "end"):
            value = getattr(self, which)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise AudioError(self.label, f"{which} must be a non-negative number of seconds, got {value}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise AudioError(self.label, f"time range {self.start:g}-{self.end:g} s is empty (end must be after start)")

    @property
    def label(self) -> str:
        """What errors call this example: its name, file path, or ``<array>``."""
        if self.name:
            return self.name
        return str(self.source) if isinstance(self.source, Path) else "<array>"

    @property
    def stem(self) -> str:
        """A short name for stem files: the file name without extension, or ``example``."""
        return self.source.stem if isinstance(self.source, Path) else (self.name or "example")

    def load(self, sample_rate: int) -> np.ndarray:
        """The example as mono float32 at ``sample_rate``, cut to its time range and checked.

        Raises :class:`AudioError` naming the example when it cannot be read, when the range
        lies outside it, when it is shorter than :data:`MIN_EXAMPLE_SECONDS` or silent.
        """
        if isinstance(self.source, Path):
            audio, rate = read_audio(self.source)
        else:
            audio, rate = check_audio_array(self.source, self.label), int(self.sample_rate or 0)
        duration = audio.shape[1] / rate
        start = self.start or 0.0
        end = duration if self.end is None else self.end
        if start >= duration:
            raise AudioError(self.label, f"time range starts at {start:g} s, but the clip is only {duration:.2f} s long")
        if end > duration + 1e-3:
            raise AudioError(self.label, f"time range ends at {end:g} s, but the clip is only {duration:.2f} s long")
        cut = downmix(audio[:, round(start * rate) : round(min(end, duration) * rate)])
        if cut.size / rate < MIN_EXAMPLE_SECONDS:
            raise AudioError(self.label, f"the example is {cut.size / rate:.2f} s long; an audio query needs at "
                                         f"least {MIN_EXAMPLE_SECONDS:g} s")
        level = rms_dbfs(cut)
        if level < SILENCE_DBFS:
            raise AudioError(self.label, f"the example is silent (RMS {level:.0f} dBFS, below {SILENCE_DBFS:g}); "
                                         "an audio query needs the sound it should find")
        return resample(cut[None], rate, sample_rate)[0].astype(np.float32)


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level in dBFS (-inf for digital silence)."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def windows(mono: np.ndarray, sample_rate: int, seconds: float = WINDOW_SECONDS) -> list[np.ndarray]:
    """Non-silent windows of ``seconds`` (a tail shorter than the minimum joins the window before it)."""
    size = max(1, round(seconds * sample_rate))
    bounds = list(range(0, mono.size, size)) + [mono.size]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < MIN_EXAMPLE_SECONDS * sample_rate:
        del bounds[-2]
    parts = [mono[a:b] for a, b in itertools.pairwise(bounds)]
    return [p for p in parts if rms_dbfs(p) >= SILENCE_DBFS]


def _example(item: ExampleLike) -> AudioExample:
    if isinstance(item, AudioExample):
        return item
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], np.ndarray):
        return AudioExample(item[0], int(item[1]))
    if isinstance(item, (str, Path)):
        return AudioExample(item)
    raise InvalidArgumentError(f"an audio example is a path, an AudioExample or an (array, sample_rate) pair, "
                               f"got {type(item).__name__}")


@dataclass(frozen=True, eq=False)
class AudioQuery:
    """A query by example: "what sounds like these clips" (optionally "... but ``text``").

    ``examples``: one example or several of the same sound (paths, :class:`AudioExample` s,
    or ``(array, sample_rate)`` pairs); their embeddings are averaged.  ``text`` blends a
    description in with weight ``text_weight`` in [0, 1] (see the module docstring).  ``name``
    is the stem's name; by default ``like <first example>`` (``+ <text>`` when blended).

    Example:
        >>> q = AudioQuery("ref.wav", text="flute", text_weight=0.3)       # doctest: +SKIP
        >>> stems = sep.separate("mix.wav", ["violin", q])                 # doctest: +SKIP
        >>> stems[q.name]                                                  # doctest: +SKIP
    """

    examples: tuple[AudioExample, ...]
    text: str | None = None
    text_weight: float = DEFAULT_TEXT_WEIGHT
    name: str = ""

    def __post_init__(self) -> None:
        raw = self.examples
        items = [raw] if isinstance(raw, (str, Path, AudioExample)) or (
            isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[0], np.ndarray)) else list(raw)
        if not items:
            raise InvalidArgumentError("an audio query needs at least one example clip")
        object.__setattr__(self, "examples", tuple(_example(i) for i in items))
        if self.text is not None:
            if not isinstance(self.text, str) or not self.text.strip():
                raise InvalidArgumentError(f"an audio query's text must be non-empty, got {self.text!r}")
            object.__setattr__(self, "text", self.text.strip())
        weight = self.text_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
            raise InvalidArgumentError(f"text_weight must be a number in [0, 1], got {weight!r}")
        if not self.name:
            object.__setattr__(self, "name", self._default_name())
        elif not self.name.strip():
            raise InvalidArgumentError("an audio query's name must not be blank")
        object.__setattr__(self, "name", self.name.strip())

    def _default_name(self) -> str:
        first = self.examples[0]
        name = f"like {first.stem}"
        if first.start is not None or first.end is not None:
            name += f" {_fmt(first.start or 0.0)}-{'' if first.end is None else _fmt(first.end)}s"
        if len(self.examples) > 1:
            name += f" and {len(self.examples) - 1} more"
        if self.text is not None:
            name += f" + {self.text}"
        return name


def _fmt(seconds: float) -> str:
    return f"{seconds:g}"


QueryLike: TypeAlias = "str | AudioQuery"


def query_name(query: QueryLike) -> str:
    """The stem name of a query: the text itself, or the audio query's name."""
    return query.name if isinstance(query, AudioQuery) else query


def check_queries(queries: Sequence[QueryLike] | QueryLike) -> list[QueryLike]:
    """Validate queries: a non-empty list of texts and audio queries with distinct names other than 'rest'.

    Texts are stripped; a list of texts gives back a list of texts.
    """
    items = [queries] if isinstance(queries, (str, AudioQuery)) else list(queries)
    if not items:
        raise InvalidArgumentError("at least one query is needed")
    cleaned: list[QueryLike] = []
    for q in items:
        if isinstance(q, AudioQuery):
            cleaned.append(q)
        elif isinstance(q, str) and q.strip():
            cleaned.append(q.strip())
        else:
            raise InvalidArgumentError(f"queries must be non-empty text or AudioQuery objects, got {q!r}")
    names = [query_name(q) for q in cleaned]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"queries must be distinct, got {names}")
    if REST in names:
        raise InvalidArgumentError(f"'{REST}' is the name of the residual stem and cannot be a query")
    return cleaned


def parse_example_spec(spec: str) -> AudioExample:
    """``FILE`` or ``FILE:START-END`` (seconds; either end may be left out) -> :class:`AudioExample`.

    A spec that names an existing file is taken whole, so file names with ':' keep working.
    """
    if Path(spec).expanduser().exists():
        return AudioExample(spec)
    match = _RANGE.match(spec)
    if match is None:
        return AudioExample(spec)
    start, end = match["start"], match["end"]
    return AudioExample(match["path"], start=float(start) if start else None, end=float(end) if end else None)


def parse_audio_query(spec: str, text_weight: float = DEFAULT_TEXT_WEIGHT) -> AudioQuery:
    """The command line's ``--query-audio`` value: ``FILE[:START-END][,FILE[:START-END]...][=TEXT]``.

    Several comma-separated examples are averaged into one query; ``=TEXT`` blends a
    description in with ``text_weight``.  A value that names an existing file is that file.
    """
    if Path(spec).expanduser().exists():
        return AudioQuery(AudioExample(spec), text_weight=text_weight)
    head, sep, text = spec.partition("=")
    if sep and not text.strip():
        raise InvalidArgumentError(f"--query-audio '{spec}': nothing after '='; write FILE=TEXT or leave '=' out")
    parts = [p for p in head.split(",") if p.strip()] if not Path(head).expanduser().exists() else [head]
    if not parts:
        raise InvalidArgumentError(f"--query-audio '{spec}': no example file named")
    examples = [parse_example_spec(p.strip()) for p in parts]
    for example in examples:
        if isinstance(example.source, Path) and not example.source.is_file():
            raise AudioError(example.source, "no such file (given to --query-audio)")
    return AudioQuery(tuple(examples), text=text.strip() if sep else None, text_weight=text_weight)
