"""Writing the outputs of one file at an integer bit depth without clipping any of them.

A stem can go above full scale (a float input over 0 dBFS, a level of +24 dB), and 16- or
24-bit samples would then be clipped.  Streaming writes know the peak only at the end, so
each stem is written twice: at the asked bit depth, and beside it to a float temporary
file.  If no stem of the file went above full scale, the integer files are published and
the float copies dropped.  Otherwise nothing is clipped: in WAV the stems that would clip
are written as 32-bit float instead; in FLAC, which has no float samples, every stem of the
file is scaled by one common factor (so stems + rest = input x factor still holds).  Either
way one line, logged on the ``soundsift`` logger (printed on stderr when logging is not
set up), says what was done.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import soundfile

from soundsift.audio import BIT_DEPTHS, AtomicAudioWriter, output_format, publish_all, write_errors
from soundsift.publishing import make_temp_file

FLOAT_DEPTH = "32f"
FULL_SCALE = 1.0
COPY_BLOCK = 1 << 18  # frames per block when a float copy is rewritten
LOG = logging.getLogger("soundsift")


class HeadroomStem:
    """One output being written: the asked bit depth and, beside it, a float copy; tracks the peak."""

    def __init__(self, path: Path, sample_rate: int, channels: int, bit_depth: str) -> None:
        self.path, self.sample_rate, self.channels = path, sample_rate, channels
        self.peak = 0.0
        self.writer = AtomicAudioWriter(path, sample_rate, channels, bit_depth)
        self._spare: Path | None = None
        self._spare_file: soundfile.SoundFile | None = None
        if bit_depth != FLOAT_DEPTH:
            try:
                with write_errors(path):
                    self._spare = make_temp_file(path)
                    self._spare_file = soundfile.SoundFile(self._spare, "w", sample_rate, channels, "FLOAT", format="W64")
            except BaseException:
                self.drop_spare()
                self.writer.abort()
                raise

    def write(self, block: np.ndarray) -> None:
        """Append a ``(channels, n)`` block."""
        if block.size:
            self.peak = max(self.peak, float(np.max(np.abs(block))))
        self.writer.write(block)
        if self._spare_file is not None:
            with write_errors(self.path, self._spare_file):
                self._spare_file.write(np.ascontiguousarray(block.T))

    def rewrite(self, bit_depth: str, factor: float) -> AtomicAudioWriter:
        """Drop the first writer and write the float copy, times ``factor``, at ``bit_depth`` (not yet published)."""
        self.writer.abort()
        self._spare_file.close()
        writer = AtomicAudioWriter(self.path, self.sample_rate, self.channels, bit_depth)
        try:
            with soundfile.SoundFile(self._spare) as spare:
                for block in spare.blocks(COPY_BLOCK, dtype="float32", always_2d=True):
                    writer.write(block.T * np.float32(factor))
        except BaseException:
            writer.abort()
            raise
        self.writer = writer
        return writer

    def drop_spare(self) -> None:
        """Remove the float copy."""
        if self._spare_file is not None:
            self._spare_file.close()
        if self._spare is not None:
            self._spare.unlink(missing_ok=True)
            self._spare = None


class HeadroomWriters:
    """The outputs of one file; :meth:`commit` publishes them all without clipping, :meth:`abort` discards them.

    ``label`` names the file in the line that says what was done when some output would clip.
    """

    def __init__(self, bit_depth: str, label: str) -> None:
        self.bit_depth = bit_depth
        self.label = label
        self.stems: list[HeadroomStem] = []

    def open(self, path: str | Path, sample_rate: int, channels: int) -> HeadroomStem:
        """Start one output file."""
        stem = HeadroomStem(Path(path), sample_rate, channels, self.bit_depth)
        self.stems.append(stem)
        return stem

    def commit(self) -> list[Path]:
        """Publish every output (rewritten first when some would clip); returns their paths."""
        peak = max((s.peak for s in self.stems), default=0.0)
        try:
            if self.bit_depth != FLOAT_DEPTH and peak > FULL_SCALE:
                self._make_room(peak)
            for stem in self.stems:
                stem.drop_spare()
        except BaseException:
            self.abort()
            raise
        return publish_all([stem.writer for stem in self.stems])

    def abort(self) -> None:
        """Discard every output and its float copy (the folders the writers made go when empty)."""
        for stem in reversed(self.stems):
            stem.drop_spare()
            stem.writer.abort()

    def _make_room(self, peak: float) -> None:
        """Rewrite what would clip: as float where the format has it, else every stem scaled alike."""
        level = f"{20 * math.log10(peak):+.1f} dBFS"
        depth = f"{self.bit_depth}-bit"
        if all(soundfile.check_format(output_format(s.path), BIT_DEPTHS[FLOAT_DEPTH]) for s in self.stems):
            over = [s for s in self.stems if s.peak > FULL_SCALE]
            for stem in over:
                stem.rewrite(FLOAT_DEPTH, 1.0)
            names = ", ".join(s.path.name for s in over)
            LOG.warning(f"soundsift: {self.label}: {names} would clip at {depth} (peak {level}); "
                        "written as 32-bit float instead")
            return
        factor = (FULL_SCALE - 2.0**-15) / peak
        for stem in self.stems:
            stem.rewrite(self.bit_depth, factor)
        LOG.warning(f"soundsift: {self.label}: the outputs would clip at {depth} (peak {level}); every one was "
                    f"scaled by the same {20 * math.log10(factor):.1f} dB (x{factor:.4f}) so that none clips")
