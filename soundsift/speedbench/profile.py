"""Where the time goes: onnxruntime's node profile of one segment, summed per U-Net module, and the
numpy front end's stages timed one by one.

Node names in the exported graphs carry the U-Net's module path (``/dec.0/conv_up/Conv``),
so summing kernel times by the top module gives the cost of each encoder level,
decoder level, the bottleneck, the head and so on, whatever the network's config.  The
profile runs at onnxruntime's basic graph optimisation, where nodes keep their names (the
full level fuses nodes and renames them), so its times are shares of the work, somewhat
above what the engine itself spends.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsift.audio import downmix
from soundsift.core.config import STFTConfig
from soundsift.core.model_dir import read_config
from soundsift.core.segment_resample import resample_segment
from soundsift.runtime.dsp import GridProjector, istft, stft
from soundsift.runtime.layout import DECODER_FILE, ENCODER_FILE, ONNX_DIR, ExportRecord
from soundsift.runtime.separator import model_magnitude
from soundsift.runtime.sessions import CPU, onnxruntime


@dataclass(frozen=True)
class ModuleTime:
    """Time of one module of one graph (or one front-end stage) per segment, and per query where it is per query."""

    graph: str
    module: str
    ms: float


def profile_network(model_dir: Path, threads: int, segment_seconds: float = 10.0, repeats: int = 3) -> list[ModuleTime]:
    """Profile encoder and decoder on one ``segment_seconds`` segment and one query; warm-up runs are left out."""
    record = ExportRecord.read(model_dir / ONNX_DIR)
    rng = np.random.default_rng(0)
    magnitude = _magnitude(model_dir, record, segment_seconds, rng)
    with tempfile.TemporaryDirectory(prefix="soundsift-profile-") as tmp:
        encoder = _session(model_dir / ONNX_DIR / ENCODER_FILE, threads, Path(tmp) / "encoder")
        decoder = _session(model_dir / ONNX_DIR / DECODER_FILE, threads, Path(tmp) / "decoder")
        query = _query(decoder, rng)
        for _ in range(repeats + 1):
            encoder_feed = {"magnitude": magnitude, **{k: v for k, v in query.items() if k in record.encoder_inputs}}
            features = encoder.run(record.features, encoder_feed)
            decoder.run(["mask"], {**dict(zip(record.features, features)), **query})
        return _module_times("encoder", encoder.end_profiling()) + _module_times("decoder", decoder.end_profiling())


def network_cpu_ms(model_dir: Path, segment_seconds: float = 10.0, repeats: int = 3) -> list[ModuleTime]:
    """CPU milliseconds of one encoder run and one decoder run (one query) on one thread at full graph
    optimisation, best of ``repeats``: the network's cost in the same unit as :func:`profile_front_end`."""
    record = ExportRecord.read(model_dir / ONNX_DIR)
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    encoder = ort.InferenceSession(str(model_dir / ONNX_DIR / ENCODER_FILE), options, providers=[CPU])
    decoder = ort.InferenceSession(str(model_dir / ONNX_DIR / DECODER_FILE), options, providers=[CPU])
    rng = np.random.default_rng(0)
    magnitude = _magnitude(model_dir, record, segment_seconds, rng)
    query = _query(decoder, rng)
    encoder_feed = {"magnitude": magnitude, **{k: v for k, v in query.items() if k in record.encoder_inputs}}
    features = dict(zip(record.features, encoder.run(record.features, encoder_feed)))
    return [ModuleTime("network, 1 thread", "encoder (per segment)",
                       _cpu_ms(lambda: encoder.run(record.features, encoder_feed), repeats)),
            ModuleTime("network, 1 thread", "decoder (per query)",
                       _cpu_ms(lambda: decoder.run(["mask"], {**features, **query}), repeats))]


def _magnitude(model_dir: Path, record: ExportRecord, segment_seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Random log-magnitude input of one segment, padded as the runtime pads it."""
    stft_cfg = read_config(model_dir).stft
    unit = 2 ** int(record.config["network"]["depth"])
    frames = 1 + round(segment_seconds * stft_cfg.sample_rate) // stft_cfg.hop_length
    return rng.random((1, -(-stft_cfg.n_bins // unit) * unit, -(-frames // unit) * unit), dtype=np.float32)


def _session(path: Path, threads: int, prefix: Path) -> object:
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.enable_profiling = True
    options.profile_file_prefix = str(prefix)
    return ort.InferenceSession(str(path), options, providers=[CPU])


def _query(decoder: object, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One random unit query embedding (and eight token states when the decoder takes them)."""
    shapes = {i.name: i.shape for i in decoder.get_inputs()}
    embedding = rng.standard_normal((1, shapes["embedding"][1])).astype(np.float32)
    query = {"embedding": embedding / np.linalg.norm(embedding)}
    if "tokens" in shapes:
        query["tokens"] = rng.standard_normal((1, 8, shapes["tokens"][2])).astype(np.float32)
        query["padding"] = np.zeros((1, 8), dtype=bool)
    return query


def _module_times(graph: str, trace: str) -> list[ModuleTime]:
    """Kernel time per module, averaged over every run but the first."""
    events = json.loads(Path(trace).read_text())
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")[1:]
    totals: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
            continue
        if any(start <= event["ts"] <= stop for start, stop in runs):
            totals[_module(event["name"], event.get("args", {}).get("op_name", "?"))] += event["dur"] / 1000
    return [ModuleTime(graph, module, ms / len(runs)) for module, ms in sorted(totals.items(), key=lambda kv: -kv[1])]


def _module(node: str, op: str) -> str:
    """'/dec.0/conv_up/Conv_kernel_time' -> 'dec.0'; a node outside every module -> its op, e.g. '(Einsum)'."""
    parts = node.split("/")
    return parts[1] if len(parts) > 2 else f"({op})"


def profile_front_end(cfg: STFTConfig, sample_rate: int = 44_100, channels: int = 2, segment_seconds: float = 10.0,
                      repeats: int = 3) -> list[ModuleTime]:
    """CPU milliseconds (one thread) of each numpy stage of the ONNX engine on one segment, best of ``repeats``."""
    rng = np.random.default_rng(0)
    chunk = (0.1 * rng.standard_normal((channels, round(segment_seconds * sample_rate)))).astype(np.float32)
    projector = GridProjector(cfg, sample_rate)
    mono = resample_segment(downmix(chunk), sample_rate, cfg.sample_rate)[None]
    spec = stft(chunk, projector.n_fft, projector.hop_length)
    masks = rng.random((1, cfg.n_bins, 1 + mono.shape[1] // cfg.hop_length), dtype=np.float32)
    bands = projector.bands(masks, spec.shape[1])
    stages: dict[str, Callable[[], object]] = {
        "downmix + resample": lambda: resample_segment(downmix(chunk), sample_rate, cfg.sample_rate),
        "model-rate STFT magnitude": lambda: model_magnitude(mono, cfg),
        f"native STFT ({channels} ch)": lambda: stft(chunk, projector.n_fft, projector.hop_length),
        "mask projection (per query)": lambda: projector.bands(masks, spec.shape[1]),
        f"mask x STFT + iSTFT ({channels} ch, per query)":
            lambda: istft(bands.apply(spec, 0), projector.n_fft, projector.hop_length, chunk.shape[1]),
    }
    return [ModuleTime("front end", name, _cpu_ms(run, repeats)) for name, run in stages.items()]


def _cpu_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return 1000 * best
