"""The settings dialog: model, engine, device, output folder and format."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from soundsift.core.store import DEFAULT_MODEL, list_models
from soundsift.engines import ENGINES, nvidia_driver_present
from soundsift.errors import SoundsiftError
from soundsift.gui.settings import DEVICES, AppSettings
from soundsift.gui.widgets import BIT_DEPTHS, FORMATS, choice_box, link_format_and_depth, row

MODEL_FOLDER = "\0folder"
ENGINE_LABELS = {"auto": "Automatic", "torch": "PyTorch", "onnx": "ONNX Runtime"}
DEVICE_LABELS = {"auto": "Automatic (GPU when there is one)", "cpu": "CPU", "cuda": "CUDA GPU"}
NO_GPU = "Device: this computer has no NVIDIA GPU driver, so CUDA GPU cannot be used; choose Automatic or CPU."


def output_folder_problem(folder: Path) -> str:
    """Why stems could not be written under ``folder`` ('' when they can): checked before it is saved."""
    if folder.exists():
        if not folder.is_dir():
            return f"Output folder: {folder} is a file, not a folder."
        return "" if os.access(folder, os.W_OK | os.X_OK) else f"Output folder: {folder} is not writable."
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"Output folder: {folder} cannot be made, because {parent} is a file."
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"Output folder: {folder} cannot be made, because {parent} is not writable."
    return ""


def installed_models() -> list[tuple[str, str]]:
    """(label, name) of every installed model but the default, e.g. fine-tuned ones in the user's model folder."""
    try:
        entries = list_models()
    except (OSError, SoundsiftError):
        return []
    return [(f"{e.name}  ({e.origin})", e.name) for e in entries if e.name != DEFAULT_MODEL]


class SettingsDialog(QDialog):
    """Edits an :class:`AppSettings`; :meth:`settings` returns the edited copy."""

    def __init__(self, initial: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._initial = initial
        self.model = QComboBox()
        self.model.addItem("Default model", DEFAULT_MODEL)
        for label, name in installed_models():
            self.model.addItem(label, name)
        self.model.addItem("A model folder…", MODEL_FOLDER)
        self.model_folder = QLineEdit()
        self.model_folder.setPlaceholderText("folder with config.json and model.safetensors")
        browse_model = QPushButton("Browse…")
        browse_model.clicked.connect(lambda: self._browse(self.model_folder, "Model folder"))
        self._model_folder_row = row(self.model_folder, browse_model)
        self.model.currentIndexChanged.connect(self._model_changed)
        self.engine = _choices(ENGINES, ENGINE_LABELS, initial.engine)
        self.engine.setToolTip("Automatic takes ONNX Runtime when the model has an ONNX export, unless a GPU "
                               "would be left unused")
        self.device = _choices(DEVICES, DEVICE_LABELS, initial.device)
        if not nvidia_driver_present():
            cuda = self.device.model().item(self.device.findData("cuda"))
            cuda.setEnabled(False)
            cuda.setToolTip(NO_GPU)
        self.output_dir = QLineEdit(initial.output_dir)
        browse_output = QPushButton("Browse…")
        browse_output.clicked.connect(lambda: self._browse(self.output_dir, "Output folder"))
        self.output_format = choice_box(FORMATS, initial.output_format)
        self.bit_depth = choice_box(BIT_DEPTHS, initial.bit_depth)
        link_format_and_depth(self.output_format, self.bit_depth)
        self.include_rest = QCheckBox("Also write the rest (everything not asked for)")
        self.include_rest.setChecked(initial.include_rest)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d9534f")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Model", self.model)
        form.addRow("", self._model_folder_row)
        form.addRow("Engine", self.engine)
        form.addRow("Device", self.device)
        form.addRow("Output folder", row(self.output_dir, browse_output))
        form.addRow("Format", self.output_format)
        form.addRow("Bit depth", self.bit_depth)
        form.addRow("", self.include_rest)
        form.addRow(self.error)
        form.addRow(buttons)
        self._select_model(initial.model)

    def settings(self) -> AppSettings:
        """The settings as edited."""
        model = self.model.currentData()
        if model == MODEL_FOLDER:
            model = self.model_folder.text().strip()
        return dataclasses.replace(
            self._initial,
            model=model,
            engine=self.engine.currentData(),
            device=self.device.currentData(),
            output_dir=self.output_dir.text().strip(),
            output_format=self.output_format.currentData(),
            bit_depth=self.bit_depth.currentData(),
            include_rest=self.include_rest.isChecked(),
        )

    def accept(self) -> None:
        """Close only when the settings are usable; otherwise say what is wrong."""
        problem = self.problem()
        if problem:
            self.error.setText(problem)
            return
        super().accept()

    def problem(self) -> str:
        """Why the current choices cannot be saved ('' when they can)."""
        settings = self.settings()
        if self.model.currentData() == MODEL_FOLDER and not Path(settings.model).expanduser().is_dir():
            return "Choose an existing model folder."
        if settings.device == "cuda" and not nvidia_driver_present():
            return NO_GPU
        if not settings.output_dir:
            return "Choose an output folder."
        return output_folder_problem(Path(settings.output_dir).expanduser())

    def _select_model(self, model: str) -> None:
        index = self.model.findData(model)
        if index < 0:
            index = self.model.findData(MODEL_FOLDER)
            self.model_folder.setText(model)
        self.model.setCurrentIndex(index)
        self._model_changed()

    def _model_changed(self) -> None:
        self._model_folder_row.setEnabled(self.model.currentData() == MODEL_FOLDER)

    def _browse(self, target: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, target.text())
        if folder:
            target.setText(folder)



def _choices(values: tuple[str, ...], labels: dict[str, str], current: str) -> QComboBox:
    return choice_box(((labels[v], v) for v in values), current)
