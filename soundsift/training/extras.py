"""The optional ``train`` extra: what scoring needs from it, checked without importing torch or the modules."""
from __future__ import annotations

import importlib.util

TRAIN_EXTRA = "pip install 'soundsift[train]'"
SCORING_MODULES = ("mir_eval", "scipy")  # BSS-Eval (held-out scores of fine-tuning, soundsift eval)


def missing_scoring_modules() -> list[str]:
    """The modules BSS-Eval scoring needs that cannot be found (an empty list when scoring can run)."""
    missing = []
    for name in SCORING_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing
