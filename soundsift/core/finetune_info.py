"""What a fine-tuned model records about itself (``finetune.json`` beside its weights), readable without torch.

Written by ``soundsift finetune``; read by ``soundsift models list`` and the desktop app to
show a fine-tuned model's base, data and held-out scores.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FINETUNE_FILE = "finetune.json"


def read_finetune_info(directory: str | Path) -> dict[str, Any] | None:
    """The fine-tuning record of a model directory, or None for models that were not fine-tuned (or unreadable ones)."""
    path = Path(directory) / FINETUNE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def describe_finetune(info: dict[str, Any]) -> str:
    """One line: base, data size and held-out scores."""
    parts = [(f"fine-tuned from {info.get('base', '?')} on {info.get('files', '?')} files "
              f"({float(info.get('hours', 0.0)):.2f} h, captions: {info.get('captions', '?')})")]
    score, base = info.get("heldout_sdri"), info.get("base_heldout_sdri")
    if isinstance(score, (int, float)):
        text = f"held-out SDRi {score:.2f} dB"
        if isinstance(base, (int, float)):
            text += f" (base {base:.2f} dB)"
        parts.append(text)
    parts.append(f"{info.get('steps', '?')} steps")
    return "; ".join(parts)
