"""Waveform envelopes and spectrograms of stems, computed in the worker so the UI thread only paints."""
from __future__ import annotations

import numpy as np

from soundsift.gui.jobs import StemPreview

ENVELOPE_COLUMNS = 2000  # at least; long files get more, so that zooming in still shows detail
COLUMNS_PER_SECOND = 100
MAX_ENVELOPE_COLUMNS = 60_000
SPECTROGRAM_FRAMES = 800
FRAMES_PER_SECOND = 20
MAX_SPECTROGRAM_FRAMES = 12_000
FFT_BATCH = 256  # frames transformed at once, which bounds the memory a long stem needs
SPECTROGRAM_FFT = 2048
SPECTROGRAM_ROWS = 160
LOWEST_HZ = 40.0
DYNAMIC_RANGE_DB = 80.0


def make_preview(audio: np.ndarray, sample_rate: int) -> StemPreview:
    """Envelope, spectrogram and peak level of a ``(channels, samples)`` stem."""
    mono = audio.mean(axis=0, dtype=np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    duration = audio.shape[1] / sample_rate
    return StemPreview(
        envelope=envelope(mono, int(np.clip(duration * COLUMNS_PER_SECOND, ENVELOPE_COLUMNS, MAX_ENVELOPE_COLUMNS))),
        spectrogram=spectrogram(
            mono, sample_rate, int(np.clip(duration * FRAMES_PER_SECOND, SPECTROGRAM_FRAMES, MAX_SPECTROGRAM_FRAMES))
        ),
        peak_db=20 * np.log10(peak) if peak > 0 else -np.inf,
        duration=duration,
        lowest_hz=LOWEST_HZ,
        top_hz=sample_rate / 2,
    )


def envelope(mono: np.ndarray, columns: int = ENVELOPE_COLUMNS) -> np.ndarray:
    """``(2, n)`` per-column minimum and maximum of ``(samples,)`` audio, ``n = min(columns, samples)``."""
    n = max(1, min(columns, mono.shape[0]))
    edges = np.linspace(0, mono.shape[0], n + 1).astype(np.int64)
    starts = edges[:-1]
    lows = np.minimum.reduceat(mono, starts)
    highs = np.maximum.reduceat(mono, starts)
    return np.stack([lows, highs]).astype(np.float32)


def spectrogram(
    mono: np.ndarray, sample_rate: int, frames: int = SPECTROGRAM_FRAMES, rows: int = SPECTROGRAM_ROWS,
    n_fft: int = SPECTROGRAM_FFT,
) -> np.ndarray:
    """``(rows, k)`` uint8 magnitudes in dB (0 = 80 dB below full scale) on a log-frequency axis.

    Row 0 is the band starting at ``LOWEST_HZ``, the last row ends at Nyquist; each row holds the
    loudest FFT bin of its band.  ``k <= frames`` frames are evenly spaced over the signal.
    """
    padded = np.pad(mono, (0, max(0, n_fft - mono.shape[0])))
    count = max(1, min(frames, padded.shape[0] // (n_fft // 4)))
    starts = np.linspace(0, padded.shape[0] - n_fft, count).astype(np.int64)
    window = np.hanning(n_fft).astype(np.float32)
    edges = np.geomspace(LOWEST_HZ, sample_rate / 2, rows + 1)
    first_bins = np.minimum((edges[:-1] * n_fft / sample_rate).astype(np.int64), n_fft // 2)
    bands = np.empty((count, rows), np.float32)
    for batch in range(0, count, FFT_BATCH):
        chunk = starts[batch : batch + FFT_BATCH]
        segments = padded[chunk[:, None] + np.arange(n_fft)[None, :]] * window
        magnitude = np.abs(np.fft.rfft(segments, axis=1)) / (window.sum() / 2)
        bands[batch : batch + len(chunk)] = np.maximum.reduceat(magnitude, first_bins, axis=1)
    db = 20 * np.log10(np.maximum(bands, 1e-10))
    scaled = np.clip((db + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB, 0.0, 1.0)
    return np.ascontiguousarray((scaled.T * 255).astype(np.uint8))
