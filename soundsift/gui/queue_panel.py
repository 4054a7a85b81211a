"""The queue panel: the table of files with a progress bar per row, and the buttons that act on it."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QPoint, Qt, pyqtSignal
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from soundsift.gui.jobs import Job
from soundsift.gui.queue_model import FILE, PROGRESS, PROGRESS_ROLE, STATUS, QueueModel

DROP_HINT = "Drop audio files or folders anywhere in this window, or use Add files… (Ctrl+O)"


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a native progress bar (plain cell for files not run or failed)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if index.data(PROGRESS_ROLE) is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = round(float(index.data(PROGRESS_ROLE)) * 1000)
        bar.text = index.data()
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal  # without it styles fill bottom-up
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class QueuePanel(QWidget):
    """Shows the queue; the buttons only emit requests, the window decides what they do."""

    add_files = pyqtSignal()
    add_folder = pyqtSignal()
    cancel_selected = pyqtSignal()
    cancel_all = pyqtSignal()
    clear_finished = pyqtSignal()
    job_activated = pyqtSignal(object)

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = QTableView()
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons; arrows move between rows
        self.table.verticalHeader().hide()
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(FILE, 200)
        header.resizeSection(PROGRESS, 110)
        self.table.clicked.connect(self._activated)
        self.table.selectionModel().currentRowChanged.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.hint = QLabel(DROP_HINT)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        buttons = QHBoxLayout()
        for text, signal, tip in (
            ("Add files…", self.add_files, "Ctrl+O"),
            ("Add folder…", self.add_folder, "Ctrl+Shift+O"),
            ("Cancel", self.cancel_selected, "Cancel the selected waiting or running files, else the running one (Esc)"),
            ("Cancel all", self.cancel_all, "Cancel every file that has not finished (Shift+Esc)"),
            ("Clear finished", self.clear_finished, "Remove done, failed and cancelled files (Ctrl+Shift+Del)"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(signal.emit)
            buttons.addWidget(button)
            if text == "Add folder…":
                buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Queue")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def selected_jobs(self) -> list[Job]:
        """Jobs of the selected rows, in queue order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.job_at(row) for row in rows]

    def select(self, job: Job) -> None:
        """Make ``job`` the selected row."""
        row = self.model.row_of(job.job_id)
        if row is not None:
            self.table.selectRow(row)

    def _activated(self, index: QModelIndex, previous: QModelIndex | None = None) -> None:
        if index.isValid():
            self.job_activated.emit(self.model.job_at(index.row()))

    def _context_menu(self, point: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Cancel", self.cancel_selected.emit)
        menu.addAction("Clear finished", self.clear_finished.emit)
        menu.exec(self.table.viewport().mapToGlobal(point))
