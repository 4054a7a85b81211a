"""The names ``soundsift finetune --protect`` takes (torch-free, for the command line and the app)."""
from __future__ import annotations

from soundsift.errors import SoundsiftError

PROTECTIONS = ("distill", "l2sp", "replay")
# replay alone measured best on the default model (docs/finetuning.md, "Which protections: measured")
DEFAULT_PROTECT = ("replay",)


def parse_protect(text: str) -> tuple[str, ...]:
    """``"distill,l2sp"`` -> ('distill', 'l2sp'); ``"none"`` -> (); unknown names are an error naming them."""
    names = tuple(dict.fromkeys(w.strip().lower() for w in text.split(",") if w.strip()))
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in PROTECTIONS]
    if unknown or not names:
        raise SoundsiftError(f"--protect {text!r}: use 'none' or a comma-separated choice of {', '.join(PROTECTIONS)}")
    return names
