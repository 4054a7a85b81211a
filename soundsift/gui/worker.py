"""The separation worker: a QThread that loads models and runs queued files one at a time.

The UI thread only hands requests over and receives signals, so the window stays responsive
while a model loads or a long file separates.  Every failure is reported for its own file
and the worker moves on to the next one.
"""
from __future__ import annotations

import collections
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, QThread, pyqtSignal

from soundsift.audio import read_audio
from soundsift.errors import AudioError, SeparationCancelled, SoundsiftError
from soundsift.gui.jobs import ORIGINAL, JobRequest, JobState, StemResult, unexpected_problem
from soundsift.gui.loader import load_choice
from soundsift.gui.model_cache import Loader, ModelCache
from soundsift.gui.preview import make_preview
from soundsift.output_folders import recording_run

PROGRESS_STEP = 0.005


class SeparationWorker(QThread):
    """Runs :class:`JobRequest` s in submission order; thread-safe ``submit``, ``cancel`` and ``stop``.

    The thread runs only while there is work: it starts on ``submit`` and ends when the queue
    is empty, so an idle worker holds no thread and its window can go away at any time.
    Errors about the input file itself are reported without its path (the queue row names it).
    """

    phase = pyqtSignal(int, object)
    progress = pyqtSignal(int, float)
    job_done = pyqtSignal(int, object, object)  # job id, stems, the input's own StemResult (for A/B)
    job_failed = pyqtSignal(int, str)
    job_cancelled = pyqtSignal(int)

    def __init__(self, loader: Loader = load_choice, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models = ModelCache(loader)
        self._pending: collections.deque[JobRequest] = collections.deque()
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()
        self._draining = False
        self._stopping = False

    def submit(self, request: JobRequest) -> None:
        """Queue a file; it runs after everything submitted before it."""
        with self._lock:
            if self._stopping:
                return
            self._cancelled.discard(request.job_id)
            self._pending.append(request)
            if self._draining:
                return
            self._draining = True
        self.wait()  # a run that has just drained the queue may still be finishing
        self.start()

    def cancel(self, job_id: int) -> None:
        """Stop a running file at its next segment, or skip it if it has not started."""
        with self._lock:
            self._cancelled.add(job_id)

    def stop(self) -> None:
        """Cancel everything, queued or running, and refuse new work; ``wait()`` then returns soon."""
        with self._lock:
            self._stopping = True

    def run(self) -> None:
        while True:
            with self._lock:
                if self._stopping or not self._pending:
                    self._draining = False
                    cancelled = [r.job_id for r in self._pending]
                    self._pending.clear()
                    break
                request = self._pending.popleft()
            self._run_one(request)
        for job_id in cancelled:
            self.job_cancelled.emit(job_id)

    def _is_cancelled(self, job_id: int) -> bool:
        with self._lock:
            return self._stopping or job_id in self._cancelled

    def _run_one(self, request: JobRequest) -> None:
        job_id = request.job_id
        if self._is_cancelled(job_id):
            self.job_cancelled.emit(job_id)
            return
        try:
            if not self.models.holds(request.model):
                self.phase.emit(job_id, JobState.LOADING)
            separator = self.models.get(request.model)
            self.phase.emit(job_id, JobState.RUNNING)
            with recording_run(request.outputs.values(), request.source):  # an earlier run's files give way as a whole
                written = separator.separate_file(
                    request.source, request.outputs, request.options, request.bit_depth,
                    self._progress_reporter(job_id), lambda: self._is_cancelled(job_id),
                    queries=list(request.queries) or None,
                )
            stems = [self._result(name, path) for name, path in zip(request.outputs, written)]
            self.job_done.emit(job_id, stems, self._result(ORIGINAL, request.source))
        except SeparationCancelled:
            self.job_cancelled.emit(job_id)
        except AudioError as exc:
            same_file = Path(exc.source) == request.source
            self.job_failed.emit(job_id, exc.problem if same_file else str(exc))
        except SoundsiftError as exc:
            self.job_failed.emit(job_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug or resource failure must not take the queue or the app down
            traceback.print_exc(file=sys.stderr)
            self.job_failed.emit(job_id, unexpected_problem(exc))

    def _progress_reporter(self, job_id: int) -> Callable[[int, int], None]:
        """A ``(done, total)`` callback that emits only when progress moved visibly."""
        last = [-1.0]

        def report(done: int, total: int) -> None:
            fraction = done / total if total else 1.0
            if fraction - last[0] >= PROGRESS_STEP or fraction >= 1.0:
                last[0] = fraction
                self.progress.emit(job_id, fraction)

        return report

    @staticmethod
    def _result(name: str, path: Path) -> StemResult:
        audio, sample_rate = read_audio(path)
        return StemResult(name, path, sample_rate, audio.shape[0], make_preview(audio, sample_rate))
