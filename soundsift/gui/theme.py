"""Dark and light palettes that follow the system's colour scheme, on Qt's Fusion style."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

ACCENT = QColor(42, 160, 200)


def dark_palette() -> QPalette:
    """A dark palette with the app's accent colour."""
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colors = {
        role.Window: QColor(37, 38, 41), role.WindowText: QColor(222, 222, 222),
        role.Base: QColor(27, 28, 30), role.AlternateBase: QColor(44, 45, 48),
        role.ToolTipBase: QColor(50, 51, 54), role.ToolTipText: QColor(222, 222, 222),
        role.PlaceholderText: QColor(130, 130, 130), role.Text: QColor(222, 222, 222),
        role.Button: QColor(50, 51, 55), role.ButtonText: QColor(222, 222, 222),
        role.BrightText: QColor(255, 90, 80), role.Light: QColor(70, 71, 75),
        role.Midlight: QColor(58, 59, 63), role.Mid: QColor(80, 81, 86), role.Dark: QColor(20, 20, 22),
        role.Shadow: QColor(0, 0, 0), role.Highlight: ACCENT, role.HighlightedText: QColor(255, 255, 255),
        role.Link: ACCENT.lighter(130),
    }
    for key, color in colors.items():
        palette.setColor(key, color)
    for key in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, key, QColor(120, 120, 120))
    return palette


def light_palette(app: QApplication) -> QPalette:
    """Fusion's own light palette with the app's accent colour."""
    palette = app.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, ACCENT)
    palette.setColor(QPalette.ColorRole.BrightText, QColor(200, 30, 30))
    return palette


def is_dark(app: QApplication) -> bool:
    """True when the system asks for a dark scheme (unknown counts as light)."""
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """Use Fusion with the palette of ``scheme``; by default the system's, switching when the system switches."""
    app.setStyle("Fusion")
    if scheme is not None:
        app.setPalette(dark_palette() if scheme == Qt.ColorScheme.Dark else light_palette(app))
        return

    def update() -> None:
        app.setPalette(dark_palette() if is_dark(app) else light_palette(app))

    update()
    app.styleHints().colorSchemeChanged.connect(update)
