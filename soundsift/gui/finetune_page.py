"""The fine-tuning page: pick a folder and a caption source, preview the captions, then train a named model.

Start, pause, resume and stop act on a run in a worker thread; the live plot shows the
training loss and the held-out SDRi.  A stopped run is resumed by starting it again under
the same name.  When a run finishes, ``model_ready`` carries the new model's name so the
window can select it at once.
"""
from __future__ import annotations

import math
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soundsift.gui.finetune_worker import CallThread, FinetuneWorker
from soundsift.gui.loss_plot import LossPlot
from soundsift.training.finetune.forgetting import describe_forgetting

CAPTION_SOURCES = (
    ("Best available (sidecar, tags, file name)", "best"),
    ("Sidecar .txt files", "sidecar"),
    ("Embedded tags", "tags"),
    ("File and folder names", "filenames"),
    ("Automatic (zero-shot CLAP tags)", "auto"),
    ("Manifest file (.csv / .jsonl)…", "manifest"),
)


def missing_extra() -> str | None:
    """Why fine-tuning cannot run in this installation (with the extra to install), or None when it can."""
    from soundsift.training.extras import TRAIN_EXTRA, missing_scoring_modules

    missing = missing_scoring_modules()
    if not missing:
        return None
    return (f"Fine-tuning scores the model on held-out files with {' and '.join(missing)}, which are not installed; "
            f"install the train extra: {TRAIN_EXTRA}")


def _base_models() -> list[str]:
    """Names of the installed models (the default first)."""
    from soundsift.core.store import DEFAULT_MODEL, list_models

    try:
        names = [e.name for e in list_models()]
    except OSError:
        names = []
    return sorted(set(names) | {DEFAULT_MODEL}, key=lambda n: (n != DEFAULT_MODEL, n))


class FinetunePage(QWidget):
    """Fine-tuning on a personal library (docs/finetuning.md)."""

    model_ready = pyqtSignal(str)

    def __init__(self, device: str = "auto", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.worker: FinetuneWorker | None = None
        self.preview_thread: CallThread | None = None
        self.table_for: tuple[str, str] | None = None
        self.caption_table = None
        self.options: dict[str, object] = {}  # further FinetuneSettings fields (lr, seconds, ...), for scripts and tests
        self.missing = missing_extra()
        self._build()
        self._set_running(False)
        if self.missing:
            self.show_status(self.missing)

    def _build(self) -> None:
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of your recordings (read only)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.ask_folder)
        self.source = QComboBox()
        for label, value in CAPTION_SOURCES:
            self.source.addItem(label, value)
        self.manifest = QLineEdit()
        self.manifest.setPlaceholderText("manifest with path,caption columns")
        self.manifest.setVisible(False)
        self.source.currentIndexChanged.connect(lambda _i: self.manifest.setVisible(self.source.currentData() == "manifest"))
        self.name = QLineEdit()
        self.name.setPlaceholderText("name of the new model, e.g. my-field-recordings")
        self.base = QComboBox()
        self.base.addItems(_base_models())
        self.steps = QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setValue(500)
        self.preview_button = QPushButton("Preview captions")
        self.preview_button.clicked.connect(self.preview)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Library folder", folder_row)
        form.addRow("Captions", self.source)
        form.addRow("", self.manifest)
        form.addRow("Model name", self.name)
        form.addRow("Start from", self.base)
        form.addRow("Steps", self.steps)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["File", "Caption", "From"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after saving a checkpoint; Start under the same name resumes it")
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.start_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.status = QLabel("Pick a folder of recordings and preview its captions")
        self.status.setWordWrap(True)
        self.plot = LossPlot()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 2)

    # --- inputs -----------------------------------------------------------------------------

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder")
        if folder:
            self.folder.setText(folder)
            if not self.name.text().strip():
                self.name.setText(Path(folder).name.replace(" ", "-"))

    def caption_source(self) -> str:
        """The source value ``build_caption_table`` takes (a manifest path for the manifest choice)."""
        value = str(self.source.currentData())
        return self.manifest.text().strip() if value == "manifest" else value

    def _key(self) -> tuple[str, str]:
        return self.folder.text().strip(), self.caption_source()

    def preview(self) -> None:
        """Build the caption table in a thread and show it."""
        folder, source = self._key()
        if not folder:
            self.show_status("Pick the library folder first")
            return

        def build() -> object:
            from soundsift.training.finetune.captions import build_caption_table
            from soundsift.training.finetune.library import scan_library

            return build_caption_table(scan_library(folder), source)

        self.preview_button.setEnabled(False)
        self.show_status("Reading captions…")
        self.preview_thread = CallThread(build, self)
        self.preview_thread.succeeded.connect(lambda table: self._show_table(table, (folder, source)))
        self.preview_thread.failed.connect(self._preview_failed)
        self.preview_thread.start()

    def _show_table(self, table: object, key: tuple[str, str]) -> None:
        self.preview_button.setEnabled(True)
        self.caption_table, self.table_for = table, key
        rows = list(table.rows)  # type: ignore[attr-defined]
        missing = list(table.missing)  # type: ignore[attr-defined]
        self.table.setRowCount(len(rows) + len(missing))
        for i, row in enumerate(rows):
            for j, text in enumerate((row.relative, row.caption, row.source)):
                self.table.setItem(i, j, QTableWidgetItem(text))
        for i, (relative, why) in enumerate(missing, len(rows)):
            for j, text in enumerate((relative, why, "left out")):
                self.table.setItem(i, j, QTableWidgetItem(text))
        captions = len(table.captions)  # type: ignore[attr-defined]
        self.show_status(f"{len(rows)} captioned files, {captions} distinct captions"
                         + (f"; {len(missing)} left out" if missing else ""))

    def _preview_failed(self, message: str) -> None:
        self.preview_button.setEnabled(True)
        self.show_status(message)

    # --- running ----------------------------------------------------------------------------

    def start(self) -> bool:
        """Start a run (or resume the stopped run of the same name); False when the inputs are not usable."""
        from soundsift.errors import SoundsiftError

        folder, source = self._key()
        name = self.name.text().strip()
        if self.missing:
            self.show_status(self.missing)
            return False
        if not folder or not name:
            self.show_status("Pick the library folder and name the new model first")
            return False
        try:
            from soundsift.training.finetune.run import RUN_FILE, FinetuneSettings, finetune_runs_dir

            settings = FinetuneSettings(library=str(Path(folder).expanduser().resolve()), name=name, captions=source,
                                        base=self.base.currentText(), steps=self.steps.value(),
                                        **self.options)  # type: ignore[arg-type]
            settings.check()
        except SoundsiftError as exc:
            self.show_status(str(exc))
            return False
        resume = (finetune_runs_dir() / name / RUN_FILE).is_file()
        table = self.caption_table if self.table_for == (folder, source) and not resume else None
        self.plot.clear(settings.steps)
        self.progress.setRange(0, settings.steps)
        self.progress.setValue(0)
        self.worker = FinetuneWorker(settings, resume, self.device, table, self)
        self.worker.event.connect(self._event)
        self.worker.succeeded.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.start()
        self._set_running(True)
        self.show_status(f"Resuming '{name}'…" if resume else f"Fine-tuning '{name}'…")
        return True

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.control.pause()
            self.show_status("Pausing after the current step…")
            self._set_running(True, paused=True)

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.control.resume()
            self._set_running(True)
            self.show_status("Fine-tuning…")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.control.stop()
            self.show_status("Stopping after the current step (the run keeps its checkpoint)…")

    def _event(self, event: object) -> None:
        kind, step, value = event.kind, event.step, event.value  # type: ignore[attr-defined]
        if kind == "step":
            self.progress.setValue(step)
            self.plot.add_loss(step, value)
        elif kind == "score":
            self.plot.add_score(step, value)
            who = "base model" if event.text == "base" else f"step {step}"  # type: ignore[attr-defined]
            self.show_status(f"Held-out SDRi ({who}): {value:.2f} dB")
        elif kind == "paused":
            self.show_status(f"Paused at step {step} (checkpoint saved)")
        elif kind == "message":
            self.show_status(event.text)  # type: ignore[attr-defined]

    def _finished(self, result: object) -> None:
        self._set_running(False)
        if result.status != "done":  # type: ignore[attr-defined]
            self.show_status(f"Stopped at step {result.step}; press Start to resume")  # type: ignore[attr-defined]
            return
        best = result.best_sdri  # type: ignore[attr-defined]
        base = result.base_sdri  # type: ignore[attr-defined]
        score = "" if best is None or math.isnan(best) else f"; held-out SDRi {best:.2f} dB"
        if score and base is not None:
            score += f" (base {base:.2f} dB)"
        name = self.settings_name()
        forgetting = describe_forgetting(result.info)  # type: ignore[attr-defined]
        self.show_status(f"Model '{name}' is ready and selected{score}; {forgetting}")
        self.model_ready.emit(name)

    def _failed(self, message: str) -> None:
        self._set_running(False)
        self.show_status(message)

    def settings_name(self) -> str:
        return self.worker.settings.name if self.worker is not None else self.name.text().strip()

    def _set_running(self, running: bool, paused: bool = False) -> None:
        self.start_button.setEnabled(not running and not self.missing)
        self.pause_button.setEnabled(running and not paused)
        self.resume_button.setEnabled(running and paused)
        self.stop_button.setEnabled(running)
        for widget in (self.folder, self.source, self.manifest, self.name, self.base, self.steps):
            widget.setEnabled(not running)

    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def shutdown(self) -> None:
        """Stop a run (keeping its checkpoint) and wait for the threads to end."""
        if self.worker is not None and self.worker.isRunning():
            self.worker.control.stop()
            self.worker.wait()
        if self.preview_thread is not None:
            self.preview_thread.wait()

    def show_status(self, text: str) -> None:
        self.status.setText(text)
