"""PyQt6 desktop app (DESIGN.md §7). Imports the engine; the engine never imports it."""
