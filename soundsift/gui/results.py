"""The results panel: the stems of one finished file, with playback, export and the output folder."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from soundsift.gui import dialogs
from soundsift.gui.export import ExportRequest, export_paths, export_stems
from soundsift.gui.export_dialog import ExportDialog
from soundsift.gui.jobs import ORIGINAL, Job, JobState, StemResult
from soundsift.gui.playback import Player, device_format, prepare_stems
from soundsift.gui.stem_row import LEVEL_RANGE_DB, StemRow
from soundsift.gui.tasks import run_in_background
from soundsift.gui.time_bar import TimeBar
from soundsift.gui.waveform import SPECTROGRAM, WAVEFORM
from soundsift.separation import REST

OPEN_FOLDER_KEY = "Ctrl+Shift+F"
NO_FILE_MANAGER = "No file manager could be opened here; the stems are in {folder}"
NO_AUDIO = "No audio output device was found, so playback is off (export and drag still work)"
EMPTY_TEXT = "Stems appear here when a file has been separated.\nSelect a finished file in the queue to see its stems."


def stem_label(name: str, mode: str) -> str:
    """How a stem is titled: the query, 'without <query>' in remove mode, 'rest', or the input itself."""
    if name == REST:
        return "rest (everything else)"
    if name == ORIGINAL:
        return "original (the input)"
    return f"without {name}" if mode == "remove" else name


def empty_text(job: Job | None) -> str:
    """What the results say when they have no stems to show for ``job``."""
    if job is not None and job.state is JobState.FAILED:
        return f"{job.source.name} could not be separated:\n{job.message}"
    if job is not None and (job.state.active or job.state is JobState.READY):
        return f"{job.source.name} has no stems yet: they appear here when its separation has finished."
    return EMPTY_TEXT


class ResultsPanel(QWidget):
    """Shows a job's stems; ``message`` carries one-line status texts for the window's status bar."""

    message = pyqtSignal(str)
    export_finished = pyqtSignal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = Player(self)
        self.player.position_changed.connect(self._show_position)
        self.player.playing_changed.connect(self._playing_changed)
        self.player.failed.connect(self.message.emit)
        self.job: Job | None = None
        self.shown: Job | None = None
        self.rows: list[StemRow] = []
        self.export_defaults = ExportRequest(Path.home())
        self.fallback_folder = Path.home()
        self._solo: set[int] = set()
        self._alone: int | None = None
        self._build()
        self.show_job(None)

    def _build(self) -> None:
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.spectrogram_box = QCheckBox("Spectrogram")
        self.spectrogram_box.setToolTip("Show spectrograms instead of waveforms (Ctrl+G)")
        self.spectrogram_box.toggled.connect(self._view_toggled)
        self.play_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play all")
        self.play_button.setToolTip("Play the stems together, or only the soloed ones (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Export these stems as WAV or FLAC (Ctrl+E)")
        self.export_button.clicked.connect(self.ask_export)
        self.folder_button = QPushButton("Open output folder")
        self.folder_button.setToolTip(f"Show the stems' folder in the file manager ({OPEN_FOLDER_KEY})")
        self.folder_button.clicked.connect(self.open_output_folder)
        self.no_audio = QLabel("no audio output")
        self.no_audio.setToolTip(NO_AUDIO)
        self.no_audio.setEnabled(False)
        self.no_audio.setVisible(False)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.spectrogram_box)
        header.addWidget(self.no_audio)
        header.addWidget(self.play_button)
        header.addWidget(self.export_button)
        header.addWidget(self.folder_button)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setEnabled(False)
        self.time_bar = TimeBar()
        self.time_bar.changed.connect(self._window_changed)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addWidget(self.time_bar)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.empty, 1)
        layout.addWidget(scroll, 1)
        self._scroll = scroll

    def show_job(self, job: Job | None) -> None:
        """Replace the rows with ``job``'s stems (``None`` or a job without stems shows the empty state)."""
        self.player.stop()
        self.player.clear()
        for row in self.rows:
            self._list_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        self._solo.clear()
        self.shown = job
        self.job = job if job is not None and job.stems else None
        has_stems = self.job is not None
        self.empty.setVisible(not has_stems)
        self._scroll.setVisible(has_stems)
        for widget in (self.spectrogram_box, self.play_button, self.export_button):
            widget.setEnabled(has_stems)
        self.no_audio.setVisible(has_stems and not self.player.available)
        if self.job is None:
            self.title.setText("Results")
            self.empty.setText(empty_text(job))
            return
        mode = self.job.request.options.mode if self.job.request else "extract"
        self.title.setText(self.job.source.name)
        view = SPECTROGRAM if self.spectrogram_box.isChecked() else WAVEFORM
        for index, stem in enumerate(self.playable_stems()):
            row = StemRow(index, stem, stem_label(stem.name, mode))
            row.view.set_mode(view)
            row.play_requested.connect(self.play_row)
            row.solo_toggled.connect(self._solo_toggled)
            row.gain_changed.connect(self._gain_changed)
            row.seek_requested.connect(self._seek)
            row.view.zoom_requested.connect(self.time_bar.zoom)
            row.view.scroll_requested.connect(self.time_bar.scroll_by)
            self.rows.append(row)
        for position, row in enumerate([*self.rows[-1:], *self.rows[:-1]] if self.job.original else self.rows):
            self._list_layout.insertWidget(position + 1, row)  # the original first, under the ruler
        self.time_bar.set_duration(self.rows[0].stem.preview.duration)
        self._update_muted()
        self._load_for_playback(self.job)

    def playable_stems(self) -> list[StemResult]:
        """What the player holds for the shown job: its stems, then the original input when there is one."""
        if self.job is None:
            return []
        return [*self.job.stems, *([self.job.original] if self.job.original else [])]

    def _load_for_playback(self, job: Job) -> None:
        """Decode the stems for the player on a pool thread; play controls wait until it is done."""
        if not self.player.available:
            self.play_button.setEnabled(False)
            self.play_button.setToolTip(NO_AUDIO)
            for row in self.rows:
                row.set_playable(False, NO_AUDIO)
            return
        for row in self.rows:
            row.set_playable(False, "Loading…")
        self.play_button.setEnabled(False)
        first = job.stems[0]
        rate, channels = device_format(first.sample_rate, first.channels)
        paths = [stem.path for stem in self.playable_stems()]

        def loaded(stems: list) -> None:
            if self.job is job:
                self.player.load(stems, rate)
                self.play_button.setEnabled(True)
                for row in self.rows:
                    row.set_playable(True, f"Play '{row.handle.text()}' alone")

        run_in_background(self, lambda: prepare_stems(paths, rate, channels), loaded, self.message.emit)

    def toggle_play(self) -> None:
        """Play all (or the soloed stems), or stop if something plays."""
        if self.player.playing:
            self.player.stop()
        elif self.player.loaded:
            self._play(None, 0.0)

    def play_row(self, index: int) -> None:
        """Play one stem alone; pressing again while it plays stops it."""
        if self.player.playing and self._alone == index:
            self.player.stop()
        elif self.player.loaded:
            self._play(index, 0.0)

    def _play(self, alone: int | None, start: float) -> None:
        self._alone = alone
        self.player.set_audible(self._audible())
        self.player.play(start)
        for row in self.rows:
            row.set_playing(row.index == alone and self.player.playing)

    def _audible(self) -> list[bool]:
        """Which rows Play all mixes: the soloed ones, else every stem (the original only when soloed)."""
        if self._alone is not None:
            return [i == self._alone for i in range(len(self.rows))]
        return [i in self._solo if self._solo else row.stem is not self._original() for i, row in enumerate(self.rows)]

    def _original(self) -> StemResult | None:
        return self.job.original if self.job is not None else None

    def _solo_toggled(self, index: int, on: bool) -> None:
        if on:
            self._solo.add(index)
        else:
            self._solo.discard(index)
        self.player.set_audible(self._audible())
        self._update_muted()

    def _gain_changed(self, index: int, gain: float) -> None:
        self.player.set_gain(index, gain)
        self._update_muted()

    def _update_muted(self) -> None:
        """Dim the muted rows: not soloed while others are, or turned all the way down."""
        for i, row in enumerate(self.rows):
            row.set_muted(bool(self._solo) and i not in self._solo or row.level.value() <= LEVEL_RANGE_DB[0])

    def _seek(self, index: int, fraction: float) -> None:
        if self.job is not None and self.player.loaded:
            self._play(self._alone if self.player.playing else None, fraction * self.rows[index].stem.preview.duration)

    def _view_toggled(self, spectrogram: bool) -> None:
        for row in self.rows:
            row.view.set_mode(SPECTROGRAM if spectrogram else WAVEFORM)

    def _window_changed(self, start: float, span: float) -> None:
        for row in self.rows:
            row.view.set_window(start, span)

    def _show_position(self, seconds: float) -> None:
        """Move the playheads; the time window pages along when the playhead runs off its right edge."""
        duration = self.time_bar.duration
        fraction = min(seconds / duration, 1.0) if duration else None
        if fraction is not None and fraction > self.time_bar.start + self.time_bar.span:
            self.time_bar.show_window(fraction, self.time_bar.span)
        for row in self.rows:
            row.view.set_playhead(fraction)

    def _playing_changed(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaStop if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Stop" if playing else "Play all")
        if not playing:
            self._alone = None
            for row in self.rows:
                row.set_playing(False)
                row.view.set_playhead(None)

    def output_folder(self) -> Path:
        """The shown track's stem folder, or the app's output folder when nothing is shown."""
        if self.job is not None:
            return self.job.stems[0].path.parent
        return self.fallback_folder

    def open_output_folder(self) -> None:
        """Open the output folder in the system's file manager."""
        folder = self.output_folder()
        if not folder.is_dir():
            self.message.emit(f"{folder} does not exist yet; it is made by the first separation")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.message.emit(NO_FILE_MANAGER.format(folder=folder))

    def ask_export(self) -> None:
        """Ask for folder, format, bit depth and rate, then export the shown stems."""
        if self.job is None:
            return
        dialog = ExportDialog(self.export_defaults, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.export_defaults = dialog.request()
        stems = [(stem.name, stem.path) for stem in self.job.stems]
        existing = [path for path in export_paths(self.job.track, stems, self.export_defaults) if path.exists()]
        if existing and not dialogs.confirm(
            self, "Replace exported files?", f"{len(existing)} of these files already exist in "
            f"{self.export_defaults.folder} (e.g. {existing[0].name}). Replace them?", "Replace"
        ):
            return
        self.start_export(self.export_defaults)

    def start_export(self, request: ExportRequest) -> None:
        """Export the shown stems on a pool thread; reports through ``message`` and ``export_finished``."""
        if self.job is None:
            return
        job = self.job
        stems = [(stem.name, stem.path) for stem in job.stems]
        self.export_button.setEnabled(False)
        self.message.emit(f"Exporting {len(stems)} stems of {job.source.name}…")

        def done(paths: list[Path]) -> None:
            self.export_button.setEnabled(self.job is not None)
            self.message.emit(f"Exported {len(paths)} stems to {request.folder}")
            self.export_finished.emit(paths)

        def failed(text: str) -> None:
            self.export_button.setEnabled(self.job is not None)
            self.message.emit(f"Export failed: {text}")

        run_in_background(self, lambda: export_stems(job.track, stems, request), done, failed)
