"""Small form helpers shared by the dialogs: choice boxes and the format / bit-depth rule."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QAbstractButton, QComboBox, QHBoxLayout, QWidget

FORMATS = (("WAV", "wav"), ("FLAC", "flac"))
BIT_DEPTHS = (("16-bit", "16"), ("24-bit", "24"), ("32-bit float", "32f"))


def choice_box(pairs: Iterable[tuple[str, Any]], current: Any) -> QComboBox:
    """A combo box of (label, value) pairs with ``current`` selected (the first one if absent)."""
    box = QComboBox()
    for label, value in pairs:
        box.addItem(label, value)
    box.setCurrentIndex(max(box.findData(current), 0))
    return box


def link_format_and_depth(output_format: QComboBox, bit_depth: QComboBox) -> None:
    """FLAC has no float samples: while FLAC is chosen, 32-bit float is greyed out (24-bit replaces it)."""

    def update() -> None:
        flac = output_format.currentData() == "flac"
        bit_depth.model().item(bit_depth.findData("32f")).setEnabled(not flac)
        if flac and bit_depth.currentData() == "32f":
            bit_depth.setCurrentIndex(bit_depth.findData("24"))

    output_format.currentIndexChanged.connect(update)
    update()


def row(*widgets: QWidget) -> QWidget:
    """Widgets side by side, the first one stretching (a field and its Browse button)."""
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widgets[0], 1)
    for widget in widgets[1:]:
        layout.addWidget(widget)
    return holder


class SpaceGoesToButtons(QObject):
    """Lets Space press the focused button or open the focused drop-down rather than trigger the window's Space shortcut
    (play / stop), so every control can be worked from the keyboard."""

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if (
            event is not None and event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Space
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and isinstance(watched, (QAbstractButton, QComboBox))
        ):
            event.accept()  # the key goes to the widget as a plain key press
            return True
        return False
