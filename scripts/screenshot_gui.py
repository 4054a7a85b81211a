"""Screenshot of the real desktop app after a separation, for the docs.

Run it on Qt's offscreen platform (``QT_QPA_PLATFORM=offscreen``) or on a virtual X screen
(Debian packages xvfb and xauth):

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_gui.py --out docs/gui.png
    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_gui.py --out docs/gui-dark.png \
        --scheme dark --spectrogram --zoom 3 --solo original --solo "a violin"

It opens the main window with temporary settings (the user's own are not touched), queues a
generated 12-second recording and a broken file, separates with the default model when one is
installed (else a tiny untrained model made on the spot, whose stems are not meaningful), and
saves the window as a PNG once the queue has finished.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QApplication

from soundsift.core import ModelConfig, NetworkConfig
from soundsift.gui.loader import model_problem
from soundsift.gui.settings import AppSettings, open_store, save_settings
from soundsift.gui.theme import apply_theme
from soundsift.gui.window import MainWindow
from soundsift.model import init_model, save_checkpoint

SAMPLE_RATE = 44_100
QUERIES = "a violin; a dog barking"  # a sound the default model knows, and one it marks as unknown


def demo_recording(path: Path, seconds: float = 12.0, seed: int = 7) -> Path:
    """A stereo mix of a plucked melody, barks (noise bursts) and a low hum, written as 24-bit WAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    mix = 0.02 * np.sin(2 * np.pi * 60 * t)
    for start in np.arange(0.2, seconds - 0.5, 0.5):
        freq = 220 * 2 ** (rng.integers(0, 12) / 12)
        note = t >= start
        decay = np.exp(-(t - start) * 4) * note
        mix += 0.25 * decay * sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    for start in (1.5, 1.9, 5.2, 5.5, 9.0):
        burst = (t >= start) & (t < start + 0.18)
        envelope = np.sin(np.pi * np.clip((t - start) / 0.18, 0, 1)) * burst
        mix += 0.5 * envelope * np.sign(np.sin(2 * np.pi * 480 * t)) * rng.uniform(0.6, 1.0, t.shape)
    stereo = np.stack([mix, np.roll(mix, 300)]) * 0.8
    soundfile.write(path, stereo.T.astype(np.float32), SAMPLE_RATE, subtype="PCM_24")
    return path


def tiny_model(folder: Path) -> Path:
    """A small untrained model (seeded), for when no default model is installed yet."""
    config = ModelConfig(network=NetworkConfig(base_channels=4, max_channels=16, depth=3, fusion_maps=4),
                         description="untrained screenshot model")
    network, encoder = init_model(config, seed=3)
    return save_checkpoint(folder / "screenshot-model", network, encoder)


def wait_for_queue(app: QApplication, window: MainWindow, timeout: float) -> None:
    """Process events until every queued file has finished."""
    deadline = time.monotonic() + timeout
    while not all(job.state.finished for job in window.queue.jobs()):
        if time.monotonic() > deadline:
            raise TimeoutError("the separation did not finish in time")
        app.processEvents()
        time.sleep(0.02)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Save a screenshot of the soundsift window after a separation.")
    parser.add_argument("--out", type=Path, default=Path("docs/gui.png"), help="PNG to write (default: docs/gui.png)")
    parser.add_argument("--size", default="1280x800", help="window size WIDTHxHEIGHT (default: 1280x800)")
    parser.add_argument("--model", default=None, help="model name or folder (default: the default model, if any)")
    parser.add_argument("--scheme", choices=("system", "light", "dark"), default="light",
                        help="colour scheme to show (default: light)")
    parser.add_argument("--spectrogram", action="store_true", help="show spectrograms instead of waveforms")
    parser.add_argument("--zoom", type=float, default=1.0, help="zoom into the middle of the time line by this factor")
    parser.add_argument("--solo", action="append", default=[], metavar="ROW",
                        help="solo the row of this stem ('original' for the input); repeatable")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the separation")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="soundsift-shot-") as tmp:
        work = Path(tmp)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
        app = QApplication(sys.argv[:1])
        app.setApplicationName("soundsift")
        schemes = {"system": None, "light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}
        apply_theme(app, schemes[args.scheme])
        model = args.model or ("default" if not model_problem("default") else str(tiny_model(work)))
        store = open_store()
        save_settings(store, AppSettings(model=model, device="cpu", output_dir=str(work / "stems")))
        window = MainWindow(store)
        window.resize(width, height)
        window.show()
        inputs = work / "inputs"
        inputs.mkdir()
        broken = inputs / "interview-take-2.mp3"
        broken.write_bytes(b"ID3" + bytes(64))
        window.add_paths([demo_recording(inputs / "street-violinist.wav"), broken])
        window.query.setText(QUERIES)
        window.separate()
        wait_for_queue(app, window, args.timeout)
        window.results.spectrogram_box.setChecked(args.spectrogram)
        window.queue_panel.select(window.queue.jobs()[0])
        window.results.time_bar.zoom(args.zoom)
        for row in window.results.rows:
            row.solo_button.setChecked(row.stem.name in args.solo)
        app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(args.out), "PNG"):
            raise OSError(f"could not write {args.out}")
        window.close()
    print(f"wrote {args.out} ({width}x{height}, model: {'default' if model == 'default' else 'tiny untrained'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
