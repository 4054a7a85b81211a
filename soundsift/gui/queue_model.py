"""The queue as a Qt table model: one row per file with its status and progress."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PyQt6.QtGui import QColor

from soundsift.audio import probe
from soundsift.errors import SoundsiftError
from soundsift.gui.jobs import Job, JobState

COLUMNS = ("File", "Status", "Progress")
FILE, STATUS, PROGRESS = range(3)
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
FAILED_COLOR = QColor(220, 70, 60)


def describe_file(path: Path) -> str:
    """'name / in folder / 3:05 · FLAC · 44100 Hz · stereo' for a row's tooltip; a folder or bad file says less."""
    lines = [path.name, f"in {path.parent}"]
    if path.is_file():
        try:
            info = probe(path)
        except SoundsiftError:
            return "\n".join(lines)
        channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
        kind = path.suffix.lstrip(".").upper() or "audio"
        lines.append(f"{format_duration(info.duration)} · {kind} · {info.sample_rate} Hz · {channels}")
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """Seconds as m:ss (h:mm:ss from an hour on)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class QueueModel(QAbstractTableModel):
    """Holds the jobs in the order they were added; the worker's reports update rows by job id."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._next_id = 1
        self._descriptions: dict[Path, str] = {}

    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._jobs)

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self._jobs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FILE:
                return job.source.name
            if column == STATUS:
                return f"{job.state.value}: {job.message}" if job.message else job.state.value
            return "" if job.state in (JobState.READY, JobState.FAILED) else f"{round(job.progress * 100)}%"
        if role == PROGRESS_ROLE:
            return None if job.state in (JobState.READY, JobState.FAILED) else job.progress
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{self._describe(job.source)}\n{job.message}" if job.message else self._describe(job.source)
        if role == Qt.ItemDataRole.ForegroundRole and job.state is JobState.FAILED and column == STATUS:
            return FAILED_COLOR
        return None

    def _describe(self, source: Path) -> str:
        """Name, folder, length and format of a file, read from its header once (on the first hover)."""
        if source not in self._descriptions:
            self._descriptions[source] = describe_file(source)
        return self._descriptions[source]

    def add(self, source: Path, state: JobState = JobState.READY, message: str = "") -> Job:
        """Append a row for ``source``."""
        job = Job(self._next_id, source, state=state, message=message)
        self._next_id += 1
        self.beginInsertRows(QModelIndex(), len(self._jobs), len(self._jobs))
        self._jobs.append(job)
        self.endInsertRows()
        return job

    def remove(self, job_ids: Iterable[int]) -> None:
        """Drop rows (the caller makes sure none of them is still active)."""
        for job_id in set(job_ids):
            row = self.row_of(job_id)
            if row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._jobs[row]
                self.endRemoveRows()

    def jobs(self) -> list[Job]:
        """All jobs, in queue order."""
        return list(self._jobs)

    def job_at(self, row: int) -> Job:
        return self._jobs[row]

    def job(self, job_id: int) -> Job | None:
        row = self.row_of(job_id)
        return None if row is None else self._jobs[row]

    def row_of(self, job_id: int) -> int | None:
        for row, job in enumerate(self._jobs):
            if job.job_id == job_id:
                return row
        return None

    def update(self, job_id: int, **changes: Any) -> Job | None:
        """Set fields of one job and repaint its row; unknown ids (rows removed meanwhile) are ignored."""
        row = self.row_of(job_id)
        if row is None:
            return None
        job = self._jobs[row]
        for name, value in changes.items():
            setattr(job, name, value)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        return job
