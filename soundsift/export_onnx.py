"""Export a separator model to ONNX for the torch-free runtime (``soundsift export-onnx``).

The U-Net is cut at its bottleneck into two graphs (layout in :mod:`soundsift.runtime.layout`):

- ``encoder.onnx``: ``magnitude`` ``(1, bins, frames)`` -> ``skip0 .. skip{depth-1}``,
  ``bottom`` (with ``late_fusion``: ``skip1 ..``, ``bottom`` and the fusion ``maps``); with
  ``film_encoder`` it also takes ``embedding`` ``(n, D)`` and returns ``n`` rows;
- ``decoder.onnx``: the features, ``embedding`` ``(n, D)`` and, with cross-attention,
  ``tokens`` ``(n, L, d)`` and ``padding`` ``(n, L)`` -> ``mask`` ``(n, bins, frames)``
  (sigmoid ratio masks).  When the decoder's ops broadcast over rows (the shared-skip
  decoder does), the features have one row whatever ``n`` is, so one segment's features
  serve a batch of queries without being copied; otherwise they have ``n`` rows and the
  runtime decodes one query per call.

``bins`` and ``frames`` must be multiples of ``2 ** depth`` (the runtime pads); the graphs
reuse :meth:`ConditionalUNet.encode` and :meth:`ConditionalUNet.decode`, so any
:class:`NetworkConfig` exports.  The query encoder's text tower goes along
(:func:`soundsift.model.encoders.compact_export.export_text_onnx`); only the compact
encoder has one.  Every export is checked against torch before it is put in place.
"""
from __future__ import annotations

import copy
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from soundsift.core.model_dir import CONFIG_FILE, WEIGHTS_FILE
from soundsift.core.store import resolve_model
from soundsift.durable import staged_folder
from soundsift.errors import CheckpointError
from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.compact_export import export_text_onnx
from soundsift.model.frontend import log_magnitude
from soundsift.model.network import SeparatorNetwork
from soundsift.model.unet import Encoded, Query
from soundsift.runtime.layout import DECODER_FILE, ENCODER_FILE, ONNX_DIR, TEXT_DIR, ExportRecord, file_sha256
from soundsift.vocabulary import VOCABULARY_FILE

OPSET = 17
TOLERANCE = 1e-4  # max |torch mask - onnx mask| an export must meet


class EncoderGraph(nn.Module):
    """What ``encoder.onnx`` computes: log1p, then the U-Net's encoder half."""

    def __init__(self, network: SeparatorNetwork) -> None:
        super().__init__()
        self.unet = network.net

    def forward(self, magnitude: torch.Tensor, embedding: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        spec = log_magnitude(magnitude).unsqueeze(1)
        if embedding is None:
            encoded = self.unet.encode(spec)
        else:
            encoded = self.unet.encode(spec.expand(embedding.shape[0], -1, -1, -1), embedding)
        return encoded.tensors()


class TraceableAttention(nn.Module):
    """``nn.MultiheadAttention`` (batch first, key padding mask, no weights returned) in explicit ops.

    The TorchScript exporter bakes the example's key length into ``nn.MultiheadAttention``'s
    reshapes; the same computation written out keeps every length dynamic.
    """

    def __init__(self, attn: nn.MultiheadAttention) -> None:
        super().__init__()
        self.attn = attn

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_padding_mask: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, None]:
        """Shapes: query (N, S, E), key and value (N, L, E), key_padding_mask (N, L) True where padded -> (N, S, E)."""
        heads, width = self.attn.num_heads, self.attn.embed_dim // self.attn.num_heads
        weights = self.attn.in_proj_weight.chunk(3)
        biases = self.attn.in_proj_bias.chunk(3)
        q, k, v = (F.linear(x, w, b).reshape(x.shape[0], -1, heads, width).transpose(1, 2)
                   for x, w, b in zip((query, key, value), weights, biases))
        scores = q @ k.transpose(-2, -1) / width**0.5
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(query.shape[0], -1, self.attn.embed_dim)
        return self.attn.out_proj(out), None


class DecoderGraph(nn.Module):
    """What ``decoder.onnx`` computes: the conditioned decoder half and the sigmoid."""

    def __init__(self, network: SeparatorNetwork) -> None:
        super().__init__()
        self.unet = copy.deepcopy(network.net)
        if self.unet.cross is not None:
            self.unet.cross.attn = TraceableAttention(self.unet.cross.attn)
        self.levels = len(self.unet.dec)
        self.late = self.unet.shared_maps is not None

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        count = self.levels + 1 + self.late
        features, (embedding, *tokens) = inputs[:count], inputs[count:]
        skips, bottom = list(features[: self.levels]), features[self.levels]
        maps = features[-1] if self.late else None
        size = maps.shape[-2:] if maps is not None else skips[0].shape[-2:]
        encoded = Encoded(skips, bottom, (size[0], size[1]), maps)
        query = Query(embedding, *tokens) if tokens else Query(embedding)
        return torch.sigmoid(self.unet.decode(encoded, query))


def export_onnx(model: str | Path | None, output: str | Path | None = None) -> Path:
    """Export ``model`` (a name or directory) to ONNX; returns the model directory that holds the export.

    With ``output`` left out (or naming the model's own directory) the export goes into the
    model directory's ``onnx/`` folder; otherwise ``output`` becomes a complete model
    directory (config, weights and ONNX files) that both engines load.  Files are written to
    a staging folder and moved into place only after the export matched torch.
    """
    source = resolve_model(model)
    target = source if output is None else Path(output)
    network, encoder = load_checkpoint(source, "cpu")
    if not isinstance(encoder, CompactClapEncoder):
        raise CheckpointError(f"{source}: the ONNX engine has a text tower for the 'compact' query encoder only; "
                              f"this model uses '{encoder.name}'")
    same = target.exists() and target.resolve() == source.resolve()
    if not same and target.exists() and any(target.iterdir()) and not (target / CONFIG_FILE).is_file():
        raise CheckpointError(f"{target}: exists and is not a model directory; pick a new or empty folder")
    with staged_folder(target / ONNX_DIR if same else target) as staging:
        model_dir = source if same else staging
        if not same:
            for name in (CONFIG_FILE, WEIGHTS_FILE):
                shutil.copyfile(source / name, staging / name)
            if (source / VOCABULARY_FILE).is_file():  # what the model knows goes with it
                shutil.copyfile(source / VOCABULARY_FILE, staging / VOCABULARY_FILE)
        folder = staging if same else staging / ONNX_DIR
        folder.mkdir(exist_ok=True)
        write_graphs(network, encoder, folder, file_sha256(source / WEIGHTS_FILE))
        check_export(network, encoder, model_dir, folder)
    return target


def write_graphs(network: SeparatorNetwork, encoder: CompactClapEncoder, folder: Path, weights_sha256: str) -> None:
    """Write both graphs, the text tower and ``network.json`` into ``folder``."""
    cfg = network.config.network
    depth = cfg.depth
    first = 1 if cfg.late_fusion else 0
    features = [f"skip{i}" for i in range(first, depth)] + ["bottom"] + (["maps"] if cfg.late_fusion else [])
    encoder_inputs = ["magnitude", "embedding"] if cfg.film_encoder else ["magnitude"]
    query_inputs = ["embedding", "tokens", "padding"] if cfg.cross_attention else ["embedding"]
    network = network.eval()
    unit = 2**depth
    magnitude = torch.rand(1, _round_up(network.config.stft.n_bins, unit), 2 * unit)
    query = _example_query(encoder, 2)
    example_inputs = {"magnitude": magnitude, "embedding": query.embedding}
    level_axes = {name: {0: "rows", 3: f"frames{i}"} for i, name in enumerate(features)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracing notes
        graph = EncoderGraph(network)
        encoder_args = tuple(example_inputs[name] for name in encoder_inputs)
        _export(graph, encoder_args, folder / ENCODER_FILE, encoder_inputs, features,
                {"magnitude": {0: "rows", 2: "frames"}, "embedding": {0: "rows"}, **level_axes})
        encoded = graph(*encoder_args)
        queries = (query.embedding, query.tokens, query.padding)[: len(query_inputs)]
        decoder = DecoderGraph(network)
        broadcast = not cfg.film_encoder and _broadcasts(decoder, encoded, queries)
        outputs = encoded if broadcast else tuple(f.expand(2, -1, -1, -1) for f in encoded)
        _export(decoder, (*outputs, *queries), folder / DECODER_FILE, features + query_inputs, ["mask"],
                {**{name: {0: "feature_rows", 3: f"frames{i}"} for i, name in enumerate(features)},
                 "embedding": {0: "rows"}, "tokens": {0: "rows", 1: "tokens"},
                 "padding": {0: "rows", 1: "tokens"}, "mask": {0: "rows", 2: "frames"}})
    export_text_onnx(encoder, folder / TEXT_DIR)
    ExportRecord(network.config.to_dict(), weights_sha256, features, encoder_inputs, query_inputs, OPSET,
                 broadcast_features=broadcast).write(folder)


def _broadcasts(decoder: DecoderGraph, features: tuple[torch.Tensor, ...], queries: tuple[torch.Tensor, ...]) -> bool:
    """True when the decoder takes one segment's features with several queries (its ops broadcast over rows)."""
    try:
        return decoder(*features, *queries).shape[0] == queries[0].shape[0]
    except RuntimeError:
        return False


def check_export(network: SeparatorNetwork, encoder: CompactClapEncoder, model_dir: Path, folder: Path) -> float:
    """Max |torch - onnx| over the masks of a seeded two-second signal and two queries; raises past TOLERANCE."""
    from soundsift.runtime.network import OnnxNetwork, OnnxQuery
    from soundsift.runtime.separator import model_magnitude

    record = ExportRecord.read(folder)
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal((1, 2 * network.config.stft.sample_rate))).astype(np.float32)
    query = _example_query(encoder, 2)
    with torch.no_grad():
        expected = network.masks(torch.from_numpy(wave), query).numpy()
    onnx_query = OnnxQuery(query.embedding.numpy(), query.tokens.numpy(), query.padding.numpy())
    got = OnnxNetwork(folder, record, ["CPUExecutionProvider"], None).masks(
        model_magnitude(wave, network.config.stft), onnx_query)
    error = float(np.abs(got - expected).max())
    if error > TOLERANCE:
        raise CheckpointError(f"{model_dir}: the ONNX export differs from torch by {error:.2e} (> {TOLERANCE}); "
                              "nothing was written")
    return error


def _example_query(encoder: CompactClapEncoder, count: int) -> Query:
    texts = ["a violin playing", "a dog barking"][:count]
    tokens, padding = encoder.token_states(texts)
    return Query(encoder.encode_text(texts), tokens, padding)


def _export(graph: nn.Module, args: tuple[torch.Tensor, ...], path: Path, inputs: list[str], outputs: list[str],
            axes: dict[str, dict[int, str]]) -> None:
    names = set(inputs) | set(outputs)
    torch.onnx.export(graph, args, str(path), dynamo=False, opset_version=OPSET, input_names=inputs,
                      output_names=outputs, dynamic_axes={k: v for k, v in axes.items() if k in names})


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit
