"""Seeded drum-kit grooves on the GM percussion map, for the "drums" class."""
from __future__ import annotations

import numpy as np

from research.data.synth import Note

KICK, SNARE, CLOSED_HAT, OPEN_HAT, RIDE, CRASH, RIM, CLAP = 36, 38, 42, 46, 51, 49, 37, 39
TOMS = (41, 43, 45, 47, 48, 50)
KITS = (0, 8, 16, 24, 25, 32, 40)

# One bar of sixteenth-note steps per style: {drum: steps}.
_GROOVES: dict[str, dict[int, tuple[int, ...]]] = {
    "rock": {KICK: (0, 8, 10), SNARE: (4, 12), CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
    "disco": {KICK: (0, 4, 8, 12), CLAP: (4, 12), OPEN_HAT: (2, 6, 10, 14), CLOSED_HAT: (0, 4, 8, 12)},
    "halftime": {KICK: (0, 3, 10), SNARE: (8,), CLOSED_HAT: tuple(range(0, 16, 2))},
    "breakbeat": {KICK: (0, 10, 11), SNARE: (4, 12, 15), CLOSED_HAT: tuple(range(16))},
    "jazz": {RIDE: (0, 4, 7, 8, 12, 15), KICK: (0, 8), CLOSED_HAT: (4, 12), RIM: (14,)},
    "bossa": {KICK: (0, 3, 4, 8, 11, 12), RIM: (0, 3, 6, 10, 13), CLOSED_HAT: tuple(range(0, 16, 2))},
}


def groove(rng: np.random.Generator, seconds: float, bpm: float) -> list[Note]:
    """Bars of a random style, with accents, ghost notes, an occasional crash and tom fills."""
    style = _GROOVES[str(rng.choice(sorted(_GROOVES)))]
    step = 60.0 / bpm / 4
    steps = int(np.ceil(seconds / step))
    accent = float(rng.uniform(85, 120))
    notes: list[Note] = []
    for bar_start in range(0, steps, 16):
        fill = rng.random() < 0.25
        if bar_start and rng.random() < 0.3:
            notes.append(_hit(bar_start, step, CRASH, accent, rng))
        for drum, positions in style.items():
            for pos in positions:
                if fill and pos >= 12:
                    continue
                if rng.random() < 0.06:
                    continue
                level = accent if pos % 4 == 0 else accent * 0.8
                notes.append(_hit(bar_start + pos, step, drum, level, rng))
        if fill:
            toms = sorted(rng.choice(TOMS, size=4, replace=True), reverse=True)
            for offset, tom in zip((12, 13, 14, 15), toms):
                notes.append(_hit(bar_start + offset, step, int(tom), accent * 0.9, rng))
        for pos in range(16):
            if rng.random() < 0.04:
                notes.append(_hit(bar_start + pos, step, SNARE, 35, rng))
    return sorted((n for n in notes if n.start < seconds), key=lambda n: (n.start, n.pitch))


def _hit(position: int, step: float, drum: int, level: float, rng: np.random.Generator) -> Note:
    velocity = int(np.clip(level + rng.normal(0, 8), 20, 127))
    start = position * step + float(rng.normal(0, 0.004)) if position else 0.0
    start = max(0.0, start)
    return Note(start, start + step * 0.9, drum, velocity)
