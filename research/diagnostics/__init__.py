"""One-off measurements behind the training choices; each runs as ``python -m research.diagnostics.NAME``."""
