"""Install a trained separator as the bundled default model, with the compact CLAP weights it was trained with.

    python scripts/ship_default_model.py runs/default-v3/best

Copies the model's ``config.json`` (its query encoder's weights location cleared, so the
package's own weights are read), ``model.safetensors`` and ``vocabulary.json`` into
``soundsift/pretrained/default``.  A model trained with other compact weights than the shipped
ones (``options.weights`` in its config) brings them along: they replace
``soundsift/pretrained/encoders/compact`` after their fingerprint is checked against the one the
model recorded.  Then the ONNX export is rebuilt and checked against torch.  Each folder is
replaced whole, so an interruption leaves the old or the new one.  Calibrate the confidence
threshold afterwards: ``python scripts/calibrate_confidence.py --model default``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from soundsift.core.model_dir import CONFIG_FILE, WEIGHTS_FILE, read_config
from soundsift.durable import staged_folder
from soundsift.errors import SoundsiftError
from soundsift.export_onnx import export_onnx
from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.encoders import build_encoder
from soundsift.model.encoders.compact_weights import CONFIG_FILE as ENCODER_CONFIG
from soundsift.model.encoders.compact_weights import SHIPPED_DIR
from soundsift.model.encoders.compact_weights import WEIGHTS_FILE as ENCODER_WEIGHTS
from soundsift.vocabulary import VOCABULARY_FILE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "soundsift" / "pretrained" / "default"
ENCODER_FILES = (ENCODER_CONFIG, ENCODER_WEIGHTS)


def trained_encoder_weights(model: Path) -> Path | None:
    """The compact weights folder the model was trained with, when it is not the shipped one (checked by fingerprint)."""
    spec = read_config(model).encoder
    if spec.name != "compact":
        raise SoundsiftError(f"{model}: the default model must use the 'compact' query encoder, not '{spec.name}'")
    weights = spec.options.get("weights") or ""
    if not weights or Path(weights).resolve() == SHIPPED_DIR.resolve():
        return None
    build_encoder(spec)  # refuses weights whose fingerprint is not the one the model recorded
    return Path(weights)


def ship(model: Path, default_dir: Path = DEFAULT_DIR, encoder_dir: Path = SHIPPED_DIR) -> Path:
    """Install ``model`` as ``default_dir`` (and its encoder weights as ``encoder_dir``); returns ``default_dir``."""
    weights = trained_encoder_weights(model)
    vocabulary = model / VOCABULARY_FILE
    if not vocabulary.is_file():
        raise SoundsiftError(f"{model}: no {VOCABULARY_FILE}; the default model must say which sounds it knows")
    config = json.loads((model / CONFIG_FILE).read_text(encoding="utf-8"))
    config["encoder"]["options"]["weights"] = ""
    if weights is not None:
        with staged_folder(encoder_dir) as staging:
            for name in ENCODER_FILES:
                shutil.copyfile(weights / name, staging / name)
    with staged_folder(default_dir) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        for name in (WEIGHTS_FILE, VOCABULARY_FILE):
            shutil.copyfile(model / name, staging / name)
    load_checkpoint(default_dir)  # the shipped encoder must be the one the model recorded
    return export_onnx(default_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a trained model folder (e.g. runs/default-v3/best)")
    args = parser.parse_args(argv)
    try:
        target = ship(args.model)
    except SoundsiftError as exc:
        print(f"ship_default_model: {exc}", file=sys.stderr)
        return 1
    print(f"installed {args.model} as {target}; now run: python scripts/calibrate_confidence.py --model default")
    return 0


if __name__ == "__main__":
    sys.exit(main())
