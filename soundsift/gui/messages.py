"""Library messages in the app's words: command-line options become the settings that do the same."""
from __future__ import annotations

import re

# option (as the command line spells it) -> what the app calls it; longest first so values stay attached
APP_WORDS = {
    "--engine torch, or engine='torch'": "Settings > Engine: PyTorch",
    "--engine torch": "Settings > Engine: PyTorch",
    "--engine onnx": "Settings > Engine: ONNX Runtime",
    "--device cuda": "Settings > Device: CUDA GPU",
    "--device cpu": "Settings > Device: CPU",
    "--engine": "Settings > Engine",
    "--device": "Settings > Device",
    "--model": "Settings > Model",
    "--format": "Settings > Format",
    "--bit-depth": "Settings > Bit depth",
    "--output-dir": "Settings > Output folder",
    "-o": "Settings > Output folder",
}
_OPTION = re.compile("|".join(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])" for option in APP_WORDS))
_PASS = re.compile(r"\bpass (?=Settings > )")


def in_app_words(text: str) -> str:
    """``text`` with every command-line option named as the app's own setting ('pass --model' -> 'choose ...')."""
    replaced = _OPTION.sub(lambda match: APP_WORDS[match.group(0)], text)
    return _PASS.sub("choose ", replaced)
