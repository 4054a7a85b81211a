"""Export finished stems to a folder in a chosen format, bit depth and sample rate."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soundsift.audio import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    WRITE_FORMATS,
    AudioError,
    check_bit_depth,
    read_audio,
    refuse_overwriting_inputs,
    resample,
)
from soundsift.batch import slugify
from soundsift.headroom import HeadroomWriters


@dataclass(frozen=True)
class ExportRequest:
    """Where and how to export; ``sample_rate=None`` keeps each stem's own rate."""

    folder: Path
    output_format: str = "wav"
    bit_depth: str = "24"
    sample_rate: int | None = None

    def check(self) -> None:
        """Raise AudioError for a format, bit depth or rate that cannot be written."""
        if self.output_format not in WRITE_FORMATS:
            raise AudioError(self.folder, f"cannot export '{self.output_format}'; use one of {sorted(WRITE_FORMATS)}")
        check_bit_depth(WRITE_FORMATS[self.output_format], self.bit_depth, self.folder)
        if self.sample_rate is not None and not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise AudioError(self.folder, f"sample rate {self.sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")


def export_paths(track: str, stems: Sequence[tuple[str, Path]], request: ExportRequest) -> list[Path]:
    """File names ``<track>-<stem>.<ext>`` in the export folder, so stems of several tracks can share it."""
    prefix = slugify(track) or "track"
    return [request.folder / f"{prefix}-{path.stem}.{request.output_format}" for _, path in stems]


def export_stems(track: str, stems: Sequence[tuple[str, Path]], request: ExportRequest) -> list[Path]:
    """Convert each ``(name, file)`` stem and write them all atomically; returns the written paths.

    Stems that would clip at the chosen bit depth are not clipped (:mod:`soundsift.headroom`).
    """
    request.check()
    targets = export_paths(track, stems, request)
    refuse_overwriting_inputs(targets, [path for _, path in stems])
    files = HeadroomWriters(request.bit_depth, track)
    try:
        for (_, path), target in zip(stems, targets):
            audio, rate = read_audio(path)
            if request.sample_rate is not None and request.sample_rate != rate:
                audio, rate = resample(audio, rate, request.sample_rate), request.sample_rate
            files.open(target, rate, audio.shape[0]).write(audio)
    except BaseException:
        files.abort()
        raise
    return files.commit()
