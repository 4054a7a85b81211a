"""The export dialog: folder, format, bit depth and sample rate for a track's stems."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from soundsift.gui.export import ExportRequest
from soundsift.gui.widgets import BIT_DEPTHS, FORMATS, choice_box, link_format_and_depth, row

ORIGINAL_RATE = 0
SAMPLE_RATES = (16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000)


class ExportDialog(QDialog):
    """Asks where and how to export; :meth:`request` reads the answer."""

    def __init__(self, initial: ExportRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export stems")
        self.folder = QLineEdit(str(initial.folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.output_format = choice_box(FORMATS, initial.output_format)
        self.bit_depth = choice_box(BIT_DEPTHS, initial.bit_depth)
        self.sample_rate = choice_box([("Original", ORIGINAL_RATE), *((f"{r:,} Hz", r) for r in SAMPLE_RATES)],
                                  initial.sample_rate or ORIGINAL_RATE)
        link_format_and_depth(self.output_format, self.bit_depth)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder", row(self.folder, browse))
        form.addRow("Format", self.output_format)
        form.addRow("Bit depth", self.bit_depth)
        form.addRow("Sample rate", self.sample_rate)
        form.addRow(buttons)

    def request(self) -> ExportRequest:
        """The export the user asked for."""
        return ExportRequest(
            folder=Path(self.folder.text().strip()).expanduser(),
            output_format=self.output_format.currentData(),
            bit_depth=self.bit_depth.currentData(),
            sample_rate=self.sample_rate.currentData() or None,
        )

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

