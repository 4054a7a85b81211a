"""``soundsift-gui --self-test``: check that an installed (or packaged) app can run, then exit.

It opens the main window (with throwaway settings), loads the default model the way
the app does (on ONNX Runtime where torch is absent), separates a built-in clip with the
Dialogue preset and checks the stems: right shape, finite, inside the input's level, and
adding back up to the input.  Exit code 0 when everything holds; 1 with a message otherwise.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from soundsift.errors import SoundsiftError

CLIP_RATE = 44_100
CLIP_SECONDS = 3.0
PRESET = "dialogue"
NULL_TOLERANCE = 1e-4


def builtin_clip(sample_rate: int = CLIP_RATE, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """A deterministic stereo test clip: a bowed-string-like tone with vibrato, a voice-like buzz, and noise.

    Shape ``(2, samples)``, float32, peak below 0.9.  The same numbers on every machine.
    """
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    vibrato = 440.0 * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(vibrato) / sample_rate
    string = sum(np.sin(k * phase) / k for k in range(1, 9)) * 0.25
    pitch = 120.0 + 30.0 * np.sin(2 * np.pi * 0.7 * t)  # a gliding glottal buzz, shaped into syllables
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / sample_rate)) * 0.08
    syllables = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
    noise = np.random.default_rng(11).standard_normal((2, t.size)) * 0.01
    left = string * 0.8 + buzz * syllables
    right = string * 0.5 + buzz * syllables * 1.2
    return (np.stack([left, right]) + noise).astype(np.float32)


def seconds_since_launch() -> float | None:
    """Seconds since this process started (Linux: from /proc), or None where that is not known."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def check_stems(audio: np.ndarray, stems: dict[str, np.ndarray], queries: list[str]) -> None:
    """Raise AssertionError with a readable message unless the stems are a sane separation of ``audio``."""
    expected = [*queries, "rest"]
    assert list(stems) == expected, f"stems {list(stems)}, expected {expected}"
    for name, stem in stems.items():
        assert stem.shape == audio.shape, f"stem '{name}' has shape {stem.shape}, the input {audio.shape}"
        assert np.isfinite(stem).all(), f"stem '{name}' holds NaN or Inf"
    level = float(np.sqrt(np.mean(audio**2)))
    for name in queries:
        stem_level = float(np.sqrt(np.mean(stems[name] ** 2)))
        assert stem_level <= 1.5 * level, f"stem '{name}' is louder ({stem_level:.3f} RMS) than the input ({level:.3f})"
    error = float(np.max(np.abs(sum(stems.values()) - audio)))
    assert error < NULL_TOLERANCE, f"stems and rest do not add up to the input (max error {error:.2e})"


def run_self_test(report: Callable[[str], None] = print) -> int:
    """The self-test; returns the exit code.  Needs a QApplication-capable Qt (any platform plugin)."""
    started = time.perf_counter()
    launched = seconds_since_launch()
    try:
        from PyQt6.QtCore import QSettings
        from PyQt6.QtWidgets import QApplication

        import soundsift
        from soundsift.audio import read_audio, write_audio
        from soundsift.core.store import DEFAULT_MODEL, resolve_model
        from soundsift.engines import torch_installed
        from soundsift.gui.jobs import ModelChoice
        from soundsift.gui.loader import load_choice
        from soundsift.gui.window import MainWindow
        from soundsift.presets import read_preset
        from soundsift.separation import REST, SeparationOptions

        app = QApplication.instance() or QApplication(sys.argv[:1])
        with tempfile.TemporaryDirectory(prefix="soundsift-self-test-") as tmp:
            folder = Path(tmp)
            store = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
            window = MainWindow(store)
            window.show()
            app.processEvents()
            ready = time.perf_counter()
            since_launch = f"{launched + ready - started:.2f} s after launch" if launched is not None else ""
            report(f"window ready ({app.platformName()} platform) {since_launch}".rstrip())
            preset = read_preset(PRESET)
            assert preset.query is not None, f"preset '{PRESET}' is not a query preset"
            queries = preset.query.queries
            report(f"soundsift {soundsift.__version__}; model {resolve_model(None)}; torch installed: "
                   f"{torch_installed()}")
            separator = load_choice(ModelChoice(DEFAULT_MODEL, "auto", "cpu"))
            loaded = time.perf_counter()
            report(f"model loaded on {type(separator).__name__} in {loaded - ready:.2f} s")
            audio = builtin_clip()
            source = write_audio(folder / "clip.wav", audio, CLIP_RATE, "32f")
            audio, _ = read_audio(source)
            outputs = {name: folder / "out" / f"{name}.wav" for name in [*queries, REST]}
            options = SeparationOptions(preset.query.mode, gain_db=preset.query.gain_db)
            written = separator.separate_file(source, outputs, options, "32f")
            stems = {name: read_audio(path)[0] for name, path in zip(outputs, written)}
            check_stems(audio, stems, queries)
            done = time.perf_counter()
            report(f"separated a {audio.shape[1] / CLIP_RATE:g} s stereo clip into {', '.join(stems)} in "
                   f"{done - loaded:.2f} s")
            window.close()
            report(f"torch imported: {'torch' in sys.modules}")
    except (AssertionError, SoundsiftError) as exc:
        report(f"self-test failed: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - any failure, reported in one line, is the answer
        report(f"self-test failed: {type(exc).__name__}: {exc}")
        return 1
    total = time.perf_counter() - started
    report(f"self-test passed in {total:.2f} s")
    return 0
