"""Render note lists to audio with FluidSynth and a SoundFont.

A :class:`FluidRenderer` loads the SoundFont once and renders clip after clip on one
synthesizer (hundreds of times faster than real time).  FluidSynth voices keep a little
state from one clip to the next (differences around -50 dB), so a clip's exact samples
depend on what the same synth rendered before it: recipes render fixed batches, each on
a fresh renderer, so the bytes depend only on the seed, never on scheduling.
"""
from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import numpy as np

from soundsift.errors import SoundsiftError

DRUM_CHANNEL = 9
DRUM_BANK = 128


@dataclass(frozen=True)
class Soundfont:
    """A SoundFont file and where it came from."""

    name: str
    path: Path
    source: str
    licence: str


@dataclass(frozen=True)
class Note:
    """One note: times in seconds from the clip start, MIDI pitch and velocity (1-127)."""

    start: float
    end: float
    pitch: int
    velocity: int


_KNOWN = {
    "fluidr3": ("fluid-soundfont-gm", "MIT", ("/usr/share/sounds/sf2/FluidR3_GM.sf2",)),
    "timgm6mb": ("timgm6mb-soundfont (bundled with pretty_midi)", "GPL-2.0",
                 ("<pretty_midi>/TimGM6mb.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")),
    "musescore": ("musescore-general-soundfont-small (MuseScore General Lite)", "MIT",
                  ("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3", "/usr/share/sounds/sf3/MuseScore_General.sf3")),
    "sfgm": ("csound-soundfont (sf_GMbank)", "public domain",
             ("/usr/share/sounds/sf2/sf_GMbank.sf2", "/usr/share/samples/sf_GMbank.sf2")),
}
_INSTALL = {
    "fluidr3": "install it with: apt-get install fluid-soundfont-gm",
    "timgm6mb": "install it with: pip install pretty_midi (or apt-get install timgm6mb-soundfont)",
    "musescore": "install it with: apt-get install musescore-general-soundfont-small",
    "sfgm": "install it with: apt-get install csound-soundfont",
}


def resolve_soundfont(name_or_path: str) -> Soundfont:
    """Find a named SoundFont (fluidr3, timgm6mb, musescore, sfgm) or accept a path to an .sf2/.sf3 file."""
    key = name_or_path.lower()
    if key in _KNOWN:
        source, licence, candidates = _KNOWN[key]
        for candidate in candidates:
            path = _expand(candidate)
            if path is not None and path.is_file():
                return Soundfont(key, path, source, licence)
        raise SoundsiftError(f"SoundFont '{key}' not found ({', '.join(candidates)}); {_INSTALL[key]}")
    path = Path(name_or_path)
    if not path.is_file():
        raise SoundsiftError(f"{path}: no such SoundFont file (or use one of: {', '.join(_KNOWN)})")
    return Soundfont(path.stem, path.resolve(), str(path), "see the SoundFont's own licence")


def _expand(candidate: str) -> Path | None:
    if not candidate.startswith("<pretty_midi>"):
        return Path(candidate)
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / candidate.split("/", 1)[1]


def _fluidsynth() -> Any:
    try:
        import fluidsynth
    except ImportError as exc:
        raise SoundsiftError(
            f"FluidSynth is not available ({exc}); install it with: apt-get install libfluidsynth3 "
            "and pip install 'soundsift[train]'"
        ) from None
    return fluidsynth


_write_float: Any = None


def _writer() -> Any:
    """``fluid_synth_write_float`` (pyfluidsynth only wraps the 16-bit writer)."""
    global _write_float
    if _write_float is None:
        fs = _fluidsynth()
        c_int, c_void_p = ctypes.c_int, ctypes.c_void_p
        _write_float = fs.cfunc(
            "fluid_synth_write_float", c_int, ("synth", c_void_p, 1), ("len", c_int, 1),
            ("lout", c_void_p, 1), ("loff", c_int, 1), ("lincr", c_int, 1),
            ("rout", c_void_p, 1), ("roff", c_int, 1), ("rincr", c_int, 1),
        )
    return _write_float


@final
class FluidRenderer:
    """One FluidSynth synthesizer with one SoundFont loaded; use as a context manager."""

    def __init__(self, soundfont: Path, sample_rate: int) -> None:
        fs = _fluidsynth()
        self.soundfont = soundfont
        self.sample_rate = sample_rate
        self._synth = fs.Synth(gain=0.5, samplerate=float(sample_rate))
        self._synth.setting("synth.reverb.active", 0)
        self._synth.setting("synth.chorus.active", 0)
        self._sfid = self._synth.sfload(str(soundfont))
        if self._sfid < 0:
            self._synth.delete()
            raise SoundsiftError(f"{soundfont}: FluidSynth could not load this SoundFont")
        self._write = _writer()

    def __enter__(self) -> FluidRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._synth.delete()

    def render(
        self, program: int, notes: Sequence[Note], seconds: float, drums: bool = False,
        controls: dict[int, int] | None = None,
    ) -> np.ndarray:
        """Play ``notes`` on one GM program and return ``seconds`` of mono float32 audio.

        ``drums`` plays on the GM percussion channel, where ``program`` picks the drum kit.
        ``controls`` are MIDI controller values set before the first note (1 = modulation /
        vibrato, 11 = expression).  Notes still sounding at the end are cut off there.
        """
        synth, rate = self._synth, self.sample_rate
        synth.system_reset()
        channel = DRUM_CHANNEL if drums else 0
        if synth.program_select(channel, self._sfid, DRUM_BANK if drums else 0, program) < 0:
            raise SoundsiftError(f"{self.soundfont}: has no preset for {'drum kit' if drums else 'program'} {program}")
        for number, value in (controls or {}).items():
            synth.cc(channel, number, value)
        total = round(seconds * rate)
        events = sorted(
            [(int(n.start * rate), 1, n.pitch, n.velocity) for n in notes]
            + [(int(n.end * rate), 0, n.pitch, 0) for n in notes]
        )
        out = np.zeros((2, total), dtype=np.float32)
        pos = 0
        for at, on, pitch, velocity in [*events, (total, -1, 0, 0)]:
            at = min(at, total)
            if at > pos:
                self._fill(out, pos, at)
                pos = at
            if on == 1:
                synth.noteon(channel, pitch, velocity)
            elif on == 0:
                synth.noteoff(channel, pitch)
        synth.all_sounds_off(channel)
        self._fill(np.zeros((2, _FLUSH), dtype=np.float32), 0, _FLUSH)
        return out.mean(axis=0)

    def _fill(self, out: np.ndarray, start: int, stop: int) -> None:
        self._write(self._synth.synth, stop - start, out[0, start:].ctypes.data, 0, 1,
                    out[1, start:].ctypes.data, 0, 1)


_FLUSH = 1024  # samples rendered and discarded after a clip, so its voices are gone
