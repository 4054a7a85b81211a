"""Running a whole audio file through a chain as a stream, into a new file, atomically."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from soundsift.audio import AudioReader, check_bit_depth, output_format, refuse_overwriting_inputs
from soundsift.core.chunked import ProgressCallback
from soundsift.errors import AudioError
from soundsift.headroom import HeadroomStem, HeadroomWriters
from soundsift.plugin_host.stage import Stage

MAX_TAIL_SECONDS = 600.0
"""How much silence the end of a file may need to push a chain's latency out before giving up."""


def process_file(
    chain: Stage,
    source: str | Path,
    destination: str | Path,
    bit_depth: str = "24",
    block_size: int = 65536,
    progress: ProgressCallback | None = None,
) -> Path:
    """Stream ``source`` through ``chain`` into ``destination`` (same length and rate), in bounded memory.

    The chain runs with ``reset=False`` block by block; after the last block, silence is fed
    until the chain's latency has released as many samples as went in, so the result equals
    one whole-signal call.  The output appears only when everything succeeded, and the
    input is never overwritten.  An output that would clip at an integer ``bit_depth`` is
    written as float instead, with one line saying so (:mod:`soundsift.headroom`).
    """
    source, destination = Path(source), Path(destination)
    refuse_overwriting_inputs([destination], [source])
    check_bit_depth(output_format(destination), bit_depth, destination)
    chain.reset()
    with AudioReader(source) as reader:
        sink = _Sink(destination, reader.sample_rate, bit_depth, reader.frames)
        try:
            for block in reader.blocks(block_size):
                sink.write(chain.render(block, reader.sample_rate, block_size, False))
                if progress is not None:
                    progress(sink.written, reader.frames)
            silence = np.zeros((reader.channels, block_size), np.float32)
            fed = 0
            while sink.written < reader.frames:
                if fed > MAX_TAIL_SECONDS * reader.sample_rate:
                    raise AudioError(destination, f"the chain held back its last {reader.frames - sink.written} "
                                                  f"samples through {MAX_TAIL_SECONDS:g} s of silence")
                sink.write(chain.render(silence, reader.sample_rate, block_size, False))
                fed += block_size
            if progress is not None:
                progress(sink.written, reader.frames)
            return sink.commit()
        except BaseException:
            sink.abort()
            raise
        finally:
            chain.reset()


class _Sink:
    """An atomic writer opened on the first output (the chain decides the channel count), cut at ``frames``."""

    def __init__(self, path: Path, sample_rate: int, bit_depth: str, frames: int) -> None:
        self.path, self.sample_rate, self.frames = path, sample_rate, frames
        self.written = 0
        self._files = HeadroomWriters(bit_depth, str(path))
        self._writer: HeadroomStem | None = None

    def write(self, audio: np.ndarray) -> None:
        audio = audio[:, : self.frames - self.written]
        if audio.shape[1] == 0:
            return
        if not np.isfinite(audio).all():
            raise AudioError(self.path, "the chain produced NaN or infinite samples")
        if self._writer is None:
            self._writer = self._files.open(self.path, self.sample_rate, audio.shape[0])
        self._writer.write(audio)
        self.written += audio.shape[1]

    def commit(self) -> Path:
        if self._writer is None:
            raise AudioError(self.path, "the chain produced no audio")
        return self._files.commit()[0]

    def abort(self) -> None:
        self._files.abort()
