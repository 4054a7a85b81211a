"""PyQt6 desktop app (docs/gui.md). Imports the engine; the engine never imports it."""
