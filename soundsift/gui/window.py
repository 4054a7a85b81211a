"""The main window: queries and mode on top, the queue on the left, the stems of a file on the right.

It wires the panels to the separation worker; all heavy work happens in the worker thread or
the thread pool, so the window only updates widgets.
"""
from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QByteArray, QSettings, Qt
from PyQt6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PyQt6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from soundsift.audio import audio_extensions
from soundsift.batch import FileJob, expand_inputs, plan_jobs, writes_rest
from soundsift.engines import torch_installed
from soundsift.errors import SoundsiftError
from soundsift.gui import dialogs
from soundsift.gui.export import ExportRequest
from soundsift.gui.jobs import Job, JobRequest, JobState, ModelChoice, StemResult
from soundsift.gui.loader import load_choice, model_description, model_problem, model_title
from soundsift.gui.messages import in_app_words
from soundsift.gui.model_cache import Loader
from soundsift.gui.preset_menu import PresetButton
from soundsift.gui.query_field import QueryField
from soundsift.gui.query_marks import QueryMarks, QueryScorer
from soundsift.gui.queue_model import QueueModel
from soundsift.gui.queue_panel import QueuePanel
from soundsift.gui.reference_queries import ReferenceClips
from soundsift.gui.results import OPEN_FOLDER_KEY, ResultsPanel
from soundsift.gui.settings import AppSettings, load_history, load_settings, remember_queries, save_settings
from soundsift.gui.settings_dialog import SettingsDialog
from soundsift.gui.suggestions import load_presets, preset_queries, query_presets
from soundsift.gui.widgets import SpaceGoesToButtons
from soundsift.gui.worker import SeparationWorker
from soundsift.output_folders import earlier_outputs, holds_outputs
from soundsift.presets import QueryPreset
from soundsift.separation import SeparationOptions, check_queries, query_name

if TYPE_CHECKING:
    from soundsift.gui.finetune_page import FinetunePage

DEFAULT_SIZE = (1280, 800)
FINETUNE_SIZE = (900, 760)
MESSAGE_MS = 8000
DROP_HIGHLIGHT = "#centralWidget { border: 2px dashed palette(highlight); }"


def fit_to_screen(window: QWidget, width: int, height: int) -> tuple[int, int]:
    """Resize a top-level window to ``width`` x ``height``, shrunk to the screen's free area; returns the size."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        available = screen.availableGeometry()
        width, height = min(width, available.width()), min(height, available.height())
    window.resize(width, height)
    return width, height


class MainWindow(QMainWindow):
    """The app's one window; ``store`` holds settings and history (tests pass a temporary one)."""

    def __init__(self, store: QSettings, loader: Loader = load_choice) -> None:
        super().__init__()
        self.store = store
        self.settings = load_settings(store)
        presets = load_presets()
        self.presets = preset_queries(presets)
        self.query_presets = query_presets(presets)
        self.preset: QueryPreset | None = None
        self.setWindowTitle("soundsift")
        self.setAcceptDrops(True)
        self.queue = QueueModel(self)
        self.worker = SeparationWorker(loader, self)
        self.worker.phase.connect(self._job_phase)
        self.worker.progress.connect(self._job_progress)
        self.worker.job_done.connect(self._job_done)
        self.worker.job_failed.connect(self._job_failed)
        self.worker.job_cancelled.connect(self._job_cancelled)
        self._follow_latest = True
        self._run: set[int] = set()  # ids of the files handed to the worker since the queue was last idle
        self.finetune_page: FinetunePage | None = None
        self._build()
        self._build_actions()
        self._space = SpaceGoesToButtons(self)
        QApplication.instance().installEventFilter(self._space)  # removed when the window (its parent) goes
        self._apply_settings()
        self._restore_layout()

    def _build(self) -> None:
        self.query = QueryField()
        self.query.returnPressed.connect(self.separate)
        self.query_marks = QueryMarks()
        self.scorer = QueryScorer(self.query, self.query_marks, self.worker.models, self)
        self.preset_button = PresetButton()
        self.preset_button.set_presets(self.query_presets)
        self.preset_button.chosen.connect(self.apply_preset)
        self.extract_button = QRadioButton("&Extract")
        self.extract_button.setToolTip("Keep only what the queries describe")
        self.remove_button = QRadioButton("&Remove")
        self.remove_button.setToolTip("Keep everything but what the queries describe")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.extract_button)
        self.mode_group.addButton(self.remove_button)
        self.separate_button = QPushButton("Separate")
        self.separate_button.setDefault(True)
        self.separate_button.setToolTip("Separate every file waiting in the queue (Ctrl+Return)")
        self.separate_button.clicked.connect(self.separate)
        settings_button = QPushButton("Settings…")
        settings_button.setToolTip("Model, engine, device, output folder and format (Ctrl+,)")
        settings_button.clicked.connect(self.open_settings)
        request_bar = QHBoxLayout()
        request_bar.addWidget(self.query, 1)
        request_bar.addWidget(self.preset_button)
        request_bar.addWidget(self.extract_button)
        request_bar.addWidget(self.remove_button)
        request_bar.addWidget(self.separate_button)
        request_bar.addWidget(settings_button)
        self.references = ReferenceClips()
        self.references.message.connect(self.show_message)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #7a5a00; color: white; padding: 6px; border-radius: 4px; }")
        self.queue_panel = QueuePanel(self.queue)
        self.queue_panel.add_files.connect(self.ask_files)
        self.queue_panel.add_folder.connect(self.ask_folder)
        self.queue_panel.cancel_selected.connect(self.cancel_selected)
        self.queue_panel.cancel_all.connect(self.cancel_all)
        self.queue_panel.clear_finished.connect(self.clear_finished)
        self.queue_panel.job_activated.connect(self._job_activated)
        self.results = ResultsPanel()
        self.results.message.connect(self.show_message)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.queue_panel)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)
        central = QWidget()
        central.setObjectName("centralWidget")
        layout = QVBoxLayout(central)
        layout.addLayout(request_bar)
        layout.addWidget(self.query_marks)
        layout.addWidget(self.references)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_actions(self) -> None:
        """Menus, with the keyboard shortcuts for the common actions."""
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Add &files…", self.ask_files, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Add f&older…", self.ask_folder, "Ctrl+Shift+O")
        self._action(file_menu, "&Export stems…", self.results.ask_export, "Ctrl+E")
        self._action(file_menu, "Open output f&older", self.results.open_output_folder, OPEN_FOLDER_KEY)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", self.open_settings, "Ctrl+,")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        queue_menu = self.menuBar().addMenu("&Queue")
        self._action(queue_menu, "&Separate", self.separate, "Ctrl+Return")
        self._action(queue_menu, "&Cancel", self.cancel_selected, "Esc")
        self._action(queue_menu, "Cancel &all", self.cancel_all, "Shift+Esc")
        self._action(queue_menu, "C&lear finished", self.clear_finished, "Ctrl+Shift+Del")
        remove = self._action(queue_menu, "&Remove from queue", self.remove_selected, QKeySequence.StandardKey.Delete)
        remove.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.queue_panel.table.addAction(remove)
        self._action(queue_menu, "Edit &queries", self.query.setFocus, "Ctrl+L")
        tools_menu = self.menuBar().addMenu("&Tools")
        self._action(tools_menu, "&Fine-tune on a library…", self.open_finetune, "Ctrl+Shift+T")
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Play / stop", self.results.toggle_play, "Space")
        self._action(view_menu, "Spectro&gram", self.results.spectrogram_box.toggle, "Ctrl+G")
        view_menu.addSeparator()
        self._action(view_menu, "Zoom &in", self.results.time_bar.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self._action(view_menu, "Zoom &out", self.results.time_bar.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self._action(view_menu, "&Whole length", self.results.time_bar.fit, "Ctrl+0")

    def _action(self, menu: QMenu, text: str, slot: Callable[[], object], shortcut: QKeySequence.StandardKey | str) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _apply_settings(self) -> None:
        """Reflect the settings in the widgets: mode, banner, output folders, suggestions."""
        (self.remove_button if self.settings.mode == "remove" else self.extract_button).setChecked(True)
        problem = model_problem(self.settings.model)
        self.model_label.setText(f"Model: {model_title(self.settings.model)}")
        self.model_label.setToolTip(model_description(self.settings.model))
        self.banner.setText(problem)
        self.banner.setVisible(bool(problem))
        self.scorer.use(None if problem else ModelChoice(self.settings.model, self.settings.engine,
                                                         self.settings.device))
        output = Path(self.settings.output_dir).expanduser()
        self.results.fallback_folder = output
        self.results.export_defaults = ExportRequest(output / "export", self.settings.output_format,
                                                     self.settings.bit_depth)
        self.query.set_suggestions([*load_history(self.store), *self.presets])

    def _restore_layout(self) -> None:
        geometry = self.store.value("window/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            splitter = self.store.value("window/splitter")
            if isinstance(splitter, QByteArray):
                self.splitter.restoreState(splitter)
            return
        width, _ = fit_to_screen(self, *DEFAULT_SIZE)
        self.splitter.setSizes([width * 2 // 5, width * 3 // 5])

    # --- inputs -----------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local files from other programs, as a copy (the files stay where they are), and light up."""
        if self._dropped_paths(event) and event.possibleActions() & Qt.DropAction.CopyAction:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._set_drop_highlight(True)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_drop_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_drop_highlight(False)
        paths = self._dropped_paths(event)
        if paths:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.add_paths(paths)

    @staticmethod
    def _dropped_paths(event: QDropEvent) -> list[Path]:
        """Local files of a drag from outside the app (a stem dragged back in from a row is not an input)."""
        if event.source() is not None or not event.mimeData().hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]

    def _set_drop_highlight(self, on: bool) -> None:
        central = self.centralWidget()
        if central is not None:
            central.setStyleSheet(DROP_HIGHLIGHT if on else "")

    def ask_files(self) -> None:
        """Pick audio files with the file dialog."""
        patterns = " ".join(f"*{ext}" for ext in sorted(audio_extensions()))
        files, _ = QFileDialog.getOpenFileNames(self, "Add audio files", "", f"Audio files ({patterns});;All files (*)")
        self.add_paths([Path(f) for f in files])

    def ask_folder(self) -> None:
        """Pick a folder; every audio file inside it is added."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of audio files")
        if folder:
            self.add_paths([Path(folder)])

    def add_paths(self, paths: Sequence[Path]) -> list[Job]:
        """Add files (and the audio files inside folders) to the queue as ready; returns the new rows.

        A folder without audio becomes a failed row saying so. A file already in the queue is not added
        again (a finished one is made ready to run again), and stems soundsift wrote are not inputs.
        """
        rows = {job.source.resolve(): job for job in self.queue.jobs()}
        stems = {stem.path.resolve() for job in self.queue.jobs() for stem in job.stems}
        added: list[Job] = []
        skipped = 0
        for path in paths:
            try:
                files = expand_inputs([path], exclude=Path(self.settings.output_dir).expanduser())
            except SoundsiftError as exc:
                added.append(self.queue.add(path, JobState.FAILED, getattr(exc, "problem", str(exc))))
                continue
            for file in files:
                known = rows.get(file.resolve())
                if file.resolve() in stems or holds_outputs(file.parent) or (known and not known.state.finished):
                    skipped += 1
                elif known is not None:
                    added.append(self.queue.update(known.job_id, state=JobState.READY, progress=0.0, message=""))
                else:
                    rows[file.resolve()] = self.queue.add(file)
                    added.append(rows[file.resolve()])
        self._report_added(len(added), skipped)
        return added

    def _report_added(self, added: int, skipped: int) -> None:
        skipped_text = f"{skipped} file(s) already in the queue or written by soundsift were not added"
        if added:
            text = f"Added {added} file(s); type what to pull out and press Separate"
            self.show_message(f"{text} ({skipped_text})" if skipped else text)
        elif skipped:
            self.show_message(skipped_text[0].upper() + skipped_text[1:])

    # --- running ----------------------------------------------------------------------------

    def mode(self) -> str:
        return "remove" if self.remove_button.isChecked() else "extract"

    def apply_preset(self, preset: QueryPreset) -> None:
        """Fill in a query preset's queries and mode; its levels apply while its mode stays chosen."""
        self.preset = preset
        self.query.set_queries(preset.queries)
        (self.remove_button if preset.mode == "remove" else self.extract_button).setChecked(True)
        self.show_message(f"Preset {preset.name}: {preset.mode} {', '.join(preset.queries)}")

    def preset_levels(self, queries: Sequence[str]) -> dict[str, float]:
        """The chosen preset's levels for those of ``queries`` it names, when its mode is the one chosen."""
        if self.preset is None or self.preset.mode != self.mode():
            return {}
        return {q: gain for q, gain in self.preset.gain_db.items() if q in queries}

    def separate(self) -> list[Job]:
        """Hand every ready file (or, if none, the selected finished ones) to the worker; returns them."""
        texts, clips = self.query.queries(), self.references.audio_queries()
        try:
            queries = check_queries([*texts, *clips])
        except SoundsiftError as exc:
            self.show_message("Type what to pull out first, e.g. violin" if not texts and not clips else str(exc))
            self.query.setFocus()
            return []
        jobs = [job for job in self.queue.jobs() if job.state is JobState.READY]
        if not jobs:
            jobs = [job for job in self.queue_panel.selected_jobs() if job.state.finished]
        if not jobs:
            self.show_message("Nothing to separate: add files (Ctrl+O or drop them here) first")
            return []
        settings = self.settings
        include_rest = writes_rest(queries, settings.include_rest, self.mode())
        try:
            planned = plan_jobs([job.source for job in jobs], queries, Path(settings.output_dir).expanduser(),
                                settings.output_format, include_rest, self.mode())
        except SoundsiftError as exc:
            self.show_message(str(exc))
            return []
        if not self._may_replace(planned):
            return []
        options = SeparationOptions(mode=self.mode(), include_rest=include_rest, gain_db=self.preset_levels(texts))
        torch_engine = clips and settings.engine == "auto" and torch_installed()  # clips need the audio tower
        model = ModelChoice(settings.model, "torch" if torch_engine else settings.engine, settings.device)
        for job, plan in zip(jobs, planned):
            request = JobRequest(job.job_id, job.source, plan.outputs, options, settings.bit_depth, model,
                                 tuple(queries))
            self.queue.update(job.job_id, state=JobState.QUEUED, progress=0.0, message="", request=request, stems=[],
                              original=None)
            if self.results.shown is job:
                self.results.show_job(job)  # its old stems go away while it runs again
            self.worker.submit(request)
        if texts:
            self.query.set_suggestions([*remember_queries(self.store, check_queries(texts)), *self.presets])
        self._follow_latest = True
        self._run = {*self._run, *(job.job_id for job in jobs)}
        self.statusBar().showMessage(  # stays while the files run; the summary replaces it at the end
            f"Separating {len(self._run)} file(s) for: {', '.join(query_name(q) for q in queries)}")
        return jobs

    def _may_replace(self, planned: Sequence[FileJob]) -> bool:
        """Ask before separating into track folders that hold an earlier run's stems; True to go on.

        The earlier run's files give way to the new run's only once it has succeeded (the worker records it).
        """
        occupied = [job.track for job in planned if earlier_outputs(job.outputs.values())]
        if not occupied:
            return True
        names = ", ".join(occupied[:3]) + (", …" if len(occupied) > 3 else "")
        return dialogs.confirm(
            self, "Replace earlier stems?", f"The output folder already holds stems of {names} from an earlier "
            "separation. Replace them with the stems of this one?", "Replace"
        )

    def cancel_selected(self) -> None:
        """Cancel the selected files that are waiting or running; when none of them is, the one running now.

        Finished rows get selected as their results are shown, so a selection of finished files
        never stops Esc from reaching the running one.
        """
        jobs = [job for job in self.queue_panel.selected_jobs() if not job.state.finished]
        self._cancel(jobs or [job for job in self.queue.jobs() if job.state.active][:1])

    def remove_selected(self) -> None:
        """Take the selected files that are not running out of the queue."""
        jobs = [job for job in self.queue_panel.selected_jobs() if not job.state.active]
        if self.results.shown in jobs:
            self.results.show_job(None)
        self.queue.remove(job.job_id for job in jobs)

    def cancel_all(self) -> None:
        """Cancel every file that has not finished."""
        self._cancel([job for job in self.queue.jobs() if job.state is JobState.READY or job.state.active])

    def _cancel(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            if job.state is JobState.READY:
                self.queue.update(job.job_id, state=JobState.CANCELLED)
            elif job.state.active and job.state is not JobState.CANCELLING:
                self.queue.update(job.job_id, state=JobState.CANCELLING)
                self.worker.cancel(job.job_id)

    def clear_finished(self) -> None:
        """Remove finished, failed and cancelled rows."""
        finished = [job for job in self.queue.jobs() if job.state.finished]
        if self.results.job in finished:
            self.results.show_job(None)
        self.queue.remove(job.job_id for job in finished)

    # --- worker reports ---------------------------------------------------------------------

    def _job_phase(self, job_id: int, phase: JobState) -> None:
        job = self.queue.job(job_id)
        if job is not None and job.state is not JobState.CANCELLING:
            self.queue.update(job_id, state=phase)

    def _job_progress(self, job_id: int, fraction: float) -> None:
        self.queue.update(job_id, progress=fraction)

    def _job_done(self, job_id: int, stems: list, original: StemResult) -> None:
        job = self.queue.update(job_id, state=JobState.DONE, progress=1.0, stems=stems, original=original,
                                message="")
        if job is not None and self._follow_latest:
            self.results.show_job(job)
            self.queue_panel.select(job)
        self._summarise_run()

    def _job_failed(self, job_id: int, message: str) -> None:
        job = self.queue.update(job_id, state=JobState.FAILED, message=in_app_words(message))
        if job is not None:
            self.show_message(f"{job.source.name}: {job.message}")
            if self.results.shown is job or (self.results.job is None and self._follow_latest):
                self.results.show_job(job)
        self._summarise_run()

    def _job_cancelled(self, job_id: int) -> None:
        self.queue.update(job_id, state=JobState.CANCELLED, message="")
        self._summarise_run()

    def _summarise_run(self) -> None:
        """Once nothing runs any more, say how the run ended (so 'Separating…' never outlives the work)."""
        jobs = [job for job in self.queue.jobs() if job.job_id in self._run]
        if any(job.state.active for job in jobs):
            return
        self._run = set()
        if not jobs:
            return
        counts = collections.Counter(job.state.value for job in jobs)
        parts = [f"{counts[state.value]} {state.value}" for state in JobState if counts[state.value]]
        hint = " (the queue says why for each failed file)" if counts[JobState.FAILED.value] else ""
        self.show_message(f"Finished separating: {', '.join(parts)}{hint}")

    def _job_activated(self, job: Job) -> None:
        """The user picked another row: show its stems (or its error) and stop following new results."""
        if job is not self.results.job:
            self._follow_latest = False
            self.results.show_job(job)

    # --- settings and lifetime --------------------------------------------------------------

    def open_settings(self) -> None:
        """Show the settings dialog; saved settings apply to the next files handed to the worker."""
        dialog = SettingsDialog(dataclasses.replace(self.settings, mode=self.mode()), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.settings())

    def apply_settings(self, settings: AppSettings) -> None:
        """Adopt and persist new settings (another model forgets the query scores of the last one)."""
        self.settings = settings
        save_settings(self.store, settings)
        self._apply_settings()

    def open_finetune(self) -> FinetunePage:
        """Show the fine-tuning page in its own window (one per main window); returns it."""
        if self.finetune_page is None:
            from soundsift.gui.finetune_page import FinetunePage

            self.finetune_page = FinetunePage(self.settings.device)
            self.finetune_page.setWindowTitle("soundsift — fine-tune on a library")
            self.finetune_page.model_ready.connect(self.use_model)
            fit_to_screen(self.finetune_page, *FINETUNE_SIZE)
        self.finetune_page.show()
        self.finetune_page.raise_()
        return self.finetune_page

    def use_model(self, name: str) -> None:
        """Make ``name`` the model for the next separations (a fine-tuned model, once it is saved)."""
        self.apply_settings(dataclasses.replace(self.settings, model=name, mode=self.mode()))
        self.show_message(f"Now separating with model '{name}'")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(in_app_words(text), MESSAGE_MS)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first while files are separating; then save settings and layout, cancel work and wait for it."""
        running = [job for job in self.queue.jobs() if job.state.active]
        if running and not dialogs.confirm(
            self, "Quit soundsift?", f"{len(running)} file(s) are still being separated. Quitting cancels them "
            "(finished stems are kept).", "Quit"
        ):
            event.ignore()
            return
        save_settings(self.store, dataclasses.replace(self.settings, mode=self.mode()))
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/splitter", self.splitter.saveState())
        self.store.sync()
        self.results.player.stop()
        self.worker.stop()
        self.worker.wait()
        if self.finetune_page is not None:
            self.finetune_page.shutdown()
            self.finetune_page.close()
        super().closeEvent(event)
