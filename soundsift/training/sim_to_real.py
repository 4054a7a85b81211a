"""Simulated recording chains for training parts, so a separator trained on clean renders meets real ones.

A real recording differs from a SoundFont render or a clean game sound by the way it was
captured and passed on: the room, the microphone or loudspeaker, the noise under it, a
compressor, a lossy codec, the level and the tape speed.  :func:`simulate_chain` passes a
part through a random chain of those stages (each switched on at random, drawn from the
ranges in :class:`ChainRanges`).  As with :mod:`soundsift.training.source_augment`, the
changed part is both what is mixed and the target, so the losses stay exact: the separator
learns to return a source *as it was recorded*.  Every draw comes from the caller's
``np.random.Generator``; the pedalboard stages are deterministic, so a seed gives the same
bytes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pedalboard
from pedalboard.io import AudioFile

from soundsift.training.source_augment import change_speed, random_equaliser

CODECS = ("mp3", "ogg", "gsm")


@dataclass(frozen=True)
class ChainRanges:
    """The range of every stage (docs/training.md lists them); each stage runs with probability ``stage``."""

    stage: float = 0.5
    speed: float = 0.03                       # playback rate in [1 - x, 1 + x]
    rt60_s: tuple[float, float] = (0.15, 1.2)  # room reverberation time
    direct_db: tuple[float, float] = (-3.0, 12.0)  # direct sound over the room's reflections
    highpass_hz: tuple[float, float] = (60.0, 400.0)  # small microphones and loudspeakers lose the lows
    lowpass_hz: tuple[float, float] = (3000.0, 7500.0)  # ... and the highs
    eq_db: float = 6.0                        # plus a smooth random colouring of up to this many dB
    noise_snr_db: tuple[float, float] = (15.0, 45.0)  # a coloured noise floor this far under the part
    threshold_db: tuple[float, float] = (-30.0, -10.0)  # compressor, below the part's peak
    ratio: tuple[float, float] = (2.0, 8.0)
    mp3_quality: tuple[float, float] = (2.0, 9.0)  # LAME VBR quality (9: smallest files)
    ogg_kbps: tuple[int, ...] = (64, 80, 96, 112)  # Vorbis bit rates, one drawn
    gain_db: tuple[float, float] = (-6.0, 6.0)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def room_response(sample_rate: int, rng: np.random.Generator, ranges: ChainRanges = ChainRanges()) -> np.ndarray:
    """A generated room impulse response: the direct sound, sparse early reflections, a decaying diffuse tail.

    The tail is noise under an exponential envelope reaching -60 dB at the drawn RT60, smoothed
    more as it decays (air and walls absorb high frequencies first).
    """
    rt60 = _uniform(rng, ranges.rt60_s)
    n = int(rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60)
    smooth = np.exp(-np.arange(8) / 2.0)
    tail = np.convolve(tail, smooth / smooth.sum(), mode="same")
    early = np.zeros(n)
    delays = rng.uniform(0.002, 0.04, size=6)
    early[(delays * sample_rate).astype(int)] = rng.choice([-1.0, 1.0], 6) * rng.uniform(0.2, 0.7, 6)
    reflections = tail * 0.05 + early
    reflections *= 10.0 ** (-_uniform(rng, ranges.direct_db) / 20.0) / max(float(np.sqrt(np.sum(reflections**2))), 1e-9)
    reflections[0] += 1.0
    return reflections


def reverberate(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``audio`` convolved with ``response``, cut to the input's length (FFT convolution)."""
    size = 1 << (len(audio) + len(response) - 2).bit_length()  # a power of two: fast FFTs, no wrap-around
    spectrum = np.fft.rfft(audio, size) * np.fft.rfft(response, size)
    return np.fft.irfft(spectrum, size)[: len(audio)]


def codec_round_trip(audio: np.ndarray, sample_rate: int, codec: str, rng: np.random.Generator,
                     ranges: ChainRanges = ChainRanges()) -> np.ndarray:
    """``audio`` encoded with a lossy codec (MP3, Ogg Vorbis or GSM phone speech) and decoded again, same length."""
    mono = audio.astype(np.float32)[None, :]
    if codec == "mp3":
        return pedalboard.MP3Compressor(_uniform(rng, ranges.mp3_quality))(mono, sample_rate)[0]
    if codec == "gsm":
        return pedalboard.GSMFullRateCompressor()(mono, sample_rate)[0]
    if codec != "ogg":
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", sample_rate, 1, format="ogg",
                   quality=f"{ranges.ogg_kbps[int(rng.integers(len(ranges.ogg_kbps)))]} kbps") as f:
        f.write(mono)
    buffer.seek(0)
    with AudioFile(buffer) as f:
        decoded = f.read(f.frames)[0]
    out = np.zeros(len(audio), dtype=np.float32)
    out[: min(len(out), len(decoded))] = decoded[: len(out)]
    return out


def _microphone(audio: np.ndarray, sample_rate: int, rng: np.random.Generator, ranges: ChainRanges) -> np.ndarray:
    top = min(_uniform(rng, ranges.lowpass_hz), 0.45 * sample_rate)
    board = pedalboard.Pedalboard([pedalboard.HighpassFilter(_uniform(rng, ranges.highpass_hz)),
                                   pedalboard.LowpassFilter(top)])
    out = board(audio.astype(np.float32)[None, :], sample_rate)[0].astype(np.float64)
    spectrum = np.fft.rfft(out)
    return np.fft.irfft(spectrum * random_equaliser(spectrum.shape[-1], ranges.eq_db, rng), n=len(out))


def _noise_floor(audio: np.ndarray, rng: np.random.Generator, ranges: ChainRanges) -> np.ndarray:
    level = float(np.sqrt(np.mean(audio**2)))
    noise = np.fft.rfft(rng.standard_normal(len(audio)))
    noise = np.fft.irfft(noise * random_equaliser(noise.shape[-1], 12.0, rng), n=len(audio))
    noise *= level * 10.0 ** (-_uniform(rng, ranges.noise_snr_db) / 20.0) / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    return audio + noise


def _compress(audio: np.ndarray, sample_rate: int, rng: np.random.Generator, ranges: ChainRanges) -> np.ndarray:
    peak_db = 20.0 * np.log10(max(float(np.abs(audio).max()), 1e-9))
    compressor = pedalboard.Compressor(threshold_db=peak_db + _uniform(rng, ranges.threshold_db),
                                       ratio=_uniform(rng, ranges.ratio), attack_ms=float(rng.uniform(1.0, 20.0)),
                                       release_ms=float(rng.uniform(50.0, 300.0)))
    return compressor(audio.astype(np.float32)[None, :], sample_rate)[0].astype(np.float64)


def simulate_chain(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
                   ranges: ChainRanges = ChainRanges()) -> np.ndarray:
    """One part through a random recording chain: speed, room, microphone, noise, compressor, codec, gain.

    Each stage runs with probability ``ranges.stage``; the draws for a stage are made only
    when it runs.  Shape ``(samples,)`` kept; float32 out.  A silent part stays silent.
    """
    if not np.any(audio):
        return audio.astype(np.float32)
    out = audio.astype(np.float64)
    if rng.random() < ranges.stage:
        out = change_speed(out, rng.uniform(1.0 - ranges.speed, 1.0 + ranges.speed))
    if rng.random() < ranges.stage:
        out = reverberate(out, room_response(sample_rate, rng, ranges))
    if rng.random() < ranges.stage:
        out = _microphone(out, sample_rate, rng, ranges)
    if rng.random() < ranges.stage:
        out = _noise_floor(out, rng, ranges)
    if rng.random() < ranges.stage:
        out = _compress(out, sample_rate, rng, ranges)
    if rng.random() < ranges.stage:
        out = codec_round_trip(out, sample_rate, CODECS[int(rng.integers(len(CODECS)))], rng, ranges)
    if rng.random() < ranges.stage:
        out = out * 10.0 ** (_uniform(rng, ranges.gain_db) / 20.0)
    return np.asarray(out, dtype=np.float32)
