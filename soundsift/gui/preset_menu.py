"""The Presets button beside the query field: picking a query preset fills in its queries and mode."""
from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QMenu, QToolButton, QWidget

from soundsift.presets import QueryPreset

LEVELS_NOTE = "levels apply while the queries and mode stay the preset's"


def describe(preset: QueryPreset) -> str:
    """A tooltip: what the preset does, its queries and their levels."""
    parts = []
    for query in preset.queries:
        level = preset.level_db(query)
        default = 0.0 if preset.mode == "extract" else float("-inf")
        parts.append(query if level == default else f"{query} ({level:+g} dB)")
    head = f"{preset.description}\n" if preset.description else ""
    return f"{head}{preset.mode}: {'; '.join(parts)}"


class PresetButton(QToolButton):
    """A drop-down of query presets; ``chosen`` carries the picked :class:`QueryPreset`."""

    chosen = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText("Presets")
        self.setToolTip(f"Fill in the queries and mode of a preset ({LEVELS_NOTE})")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))
        self._presets: list[QueryPreset] = []

    def set_presets(self, presets: Sequence[QueryPreset]) -> None:
        """Offer these presets, one menu entry each, in order."""
        self._presets = list(presets)
        menu = self.menu()
        assert menu is not None
        menu.clear()
        menu.setToolTipsVisible(True)
        for preset in self._presets:
            action = menu.addAction(preset.name)
            assert action is not None
            action.setToolTip(describe(preset))
            action.triggered.connect(lambda _checked=False, p=preset: self.chosen.emit(p))
        self.setEnabled(bool(self._presets))

    def presets(self) -> list[QueryPreset]:
        return list(self._presets)
