"""What one queued file is and what it produced: plain data shared by the window, the worker and the views."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsift.queries import QueryLike
from soundsift.separation import SeparationOptions

ORIGINAL = "original"


def unexpected_problem(exc: BaseException) -> str:
    """A user-facing line for an error the app did not expect (the traceback goes to the terminal)."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
    return f"something unexpected went wrong ({detail}); the details were printed in the terminal"


class JobState(enum.Enum):
    """Where a file is in its life in the queue; the value is what the queue shows."""

    READY = "ready"
    QUEUED = "queued"
    LOADING = "loading model"
    RUNNING = "separating"
    CANCELLING = "cancelling"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Handed to the worker and not finished yet."""
        return self in (JobState.QUEUED, JobState.LOADING, JobState.RUNNING, JobState.CANCELLING)

    @property
    def finished(self) -> bool:
        """Ended one way or another; can be run again."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class ModelChoice:
    """Which model to load and how; equal choices share one loaded separator in the worker."""

    model: str
    engine: str
    device: str


@dataclass(frozen=True)
class JobRequest:
    """Everything the worker needs to separate one file, fixed when the user pressed Separate."""

    job_id: int
    source: Path
    outputs: dict[str, Path]
    options: SeparationOptions
    bit_depth: str
    model: ModelChoice
    queries: tuple[QueryLike, ...] = ()  # texts and reference clips; empty: the text queries named by outputs


@dataclass(frozen=True)
class StemPreview:
    """Pictures of a stem small enough to keep for every finished file.

    ``envelope`` is ``(2, columns)`` min/max of the downmix per column; ``spectrogram`` is
    ``(rows, frames)`` uint8 log magnitude on a log-frequency axis from ``lowest_hz`` (row 0) to ``top_hz``.
    """

    envelope: np.ndarray
    spectrogram: np.ndarray
    peak_db: float
    duration: float
    lowest_hz: float
    top_hz: float


@dataclass(frozen=True)
class StemResult:
    """One written stem: its display name, file and preview."""

    name: str
    path: Path
    sample_rate: int
    channels: int
    preview: StemPreview


@dataclass
class Job:
    """One row of the queue."""

    job_id: int
    source: Path
    state: JobState = JobState.READY
    progress: float = 0.0
    message: str = ""
    request: JobRequest | None = None
    stems: list[StemResult] = field(default_factory=list)
    original: StemResult | None = None  # the input itself, played and soloed against the stems

    @property
    def track(self) -> str:
        """The output folder name of this file's stems (the input's name until planned)."""
        if self.request is not None and self.request.outputs:
            return next(iter(self.request.outputs.values())).parent.name
        return self.source.stem
