"""The public facade on the torch engine: load a model once, then separate arrays or files by text queries.

Every entry point converts its input into a stream of native-rate blocks and calls
:meth:`Separator.iter_separate`, the one engine path (shared with the ONNX engine in
:mod:`soundsift.separation`).  Per segment the work that does not depend on the query
(downmix, resampling, both STFTs, and the U-Net encoder) runs once, and all queries are
decoded as one batch; on a GPU several segments go through the network together.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundsift.audio import downmix
from soundsift.confidence import pool_token_states
from soundsift.core.chunked import BatchFn
from soundsift.core.config import STFTConfig
from soundsift.core.mask_shares import share_masks
from soundsift.core.segment_resample import resample_segment
from soundsift.core.store import resolve_model
from soundsift.errors import InvalidArgumentError
from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.encoders import QueryEncoder
from soundsift.model.frontend import MaskProjector, istft, stft
from soundsift.model.network import SeparatorNetwork, pad_to
from soundsift.model.unet import Query
from soundsift.queries import AudioQuery, QueryLike
from soundsift.separation import MODES, REST, SegmentSeparator, SeparationOptions, check_queries
from soundsift.vocabulary import read_vocabulary

__all__ = ["MODES", "REST", "AudioQuery", "SeparationOptions", "Separator", "check_queries", "resolve_device"]
CUDA_SEGMENT_BATCH = 4
AUDIO_CACHE = 16


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' (or None) means CUDA when available, else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise InvalidArgumentError(f"unknown device '{device}'; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here")
    return device


class Separator(SegmentSeparator):
    """A loaded separator model.

    Example:
        >>> sep = Separator.load("path/to/model")                        # doctest: +SKIP
        >>> stems = sep.separate("mix.wav", ["violin", "a dog barking"])  # doctest: +SKIP
        >>> stems["violin"].shape, stems["rest"].shape                     # doctest: +SKIP
    """

    def __init__(
        self, network: SeparatorNetwork, encoder: QueryEncoder, device: torch.device, name: str = "", half: bool = False
    ) -> None:
        if half and device.type != "cuda":
            raise InvalidArgumentError("half precision runs on a CUDA device only; use --device cuda or leave it off")
        self.network = network.to(device).eval()
        self.encoder = encoder.to(device).eval()
        self.device = device
        self.name = name
        self.half = half
        self.config = network.config
        self._query_cache: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._audio_cache: dict[AudioQuery, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        device: str | torch.device = "auto",
        encoder_options: Mapping[str, Any] | None = None,
        half: bool = False,
    ) -> Separator:
        """Load a model by name (``None`` for the default) or from a model directory.

        ``encoder_options`` override the query encoder's recorded options, for encoders whose
        files live elsewhere on this machine (the weights fingerprint is still checked).
        ``half`` runs the network's convolutions in float16 on a CUDA device (autocast;
        normalisations and the masks stay float32).
        """
        path = resolve_model(name_or_path)
        dev = resolve_device(device)
        network, encoder = load_checkpoint(path, dev, encoder_options)
        separator = cls(network, encoder, dev, name=str(name_or_path or path.name), half=half)
        separator.vocabulary = read_vocabulary(path)
        return separator

    @property
    def default_segment_batch(self) -> int:
        """Several segments per network call on a GPU; one on the CPU, where batching gains nothing."""
        return CUDA_SEGMENT_BATCH if self.device.type == "cuda" else 1

    def confidence_vectors(self, texts: list[str]) -> np.ndarray:
        """The query encoder's token states of each text, pooled (see :class:`SegmentSeparator`)."""
        with torch.inference_mode():
            states, padding = self.encoder.token_states(list(texts))
        return pool_token_states(states.float().cpu().numpy(), padding.cpu().numpy())

    def encode_queries(self, queries: Sequence[QueryLike]) -> Query:
        """Embed queries; text results are cached per text for the life of the separator.

        Audio queries are embedded by the encoder's audio tower (:mod:`soundsift.model.audio_query`)
        and cached per :class:`AudioQuery` object (its examples are read once; the most recent
        ``AUDIO_CACHE`` objects are kept), so streaming stages do not embed them per segment.
        """
        texts = [q for q in queries if isinstance(q, str)]
        todo = list(dict.fromkeys(q for q in texts if q not in self._query_cache))
        if todo:
            with torch.inference_mode():
                emb = self.encoder.encode_text(todo).to(self.device)
                tokens, padding = self.encoder.token_states(todo)
            for i, q in enumerate(todo):
                self._query_cache[q] = (emb[i], tokens[i].to(self.device), padding[i].to(self.device))
        parts = [self._query_cache[q] if isinstance(q, str) else self._cached_audio_query(q) for q in queries]
        length = max(p[1].shape[0] for p in parts)
        tokens = torch.stack([torch.nn.functional.pad(p[1], (0, 0, 0, length - p[1].shape[0])) for p in parts])
        padding = torch.stack(
            [torch.nn.functional.pad(p[2], (0, length - p[2].shape[0]), value=True) for p in parts]
        )
        return Query(torch.stack([p[0] for p in parts]), tokens, padding)

    def _cached_audio_query(self, query: AudioQuery) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`_audio_query`, once per query object (AudioQuery hashes by identity)."""
        if query not in self._audio_cache:
            while len(self._audio_cache) >= AUDIO_CACHE:
                del self._audio_cache[next(iter(self._audio_cache))]
            self._audio_cache[query] = self._audio_query(query)
        return self._audio_cache[query]

    def _audio_query(self, query: AudioQuery) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Embedding and token states of an audio query.

        Token states (used by cross-attention separators) are the blended text's, or, for a
        query without text, the embedding itself as one token.
        """
        from soundsift.model.audio_query import embed_audio_query

        emb = embed_audio_query(self.encoder, query, self.config.stft.sample_rate).to(self.device)
        if query.text is not None:
            with torch.inference_mode():
                tokens, padding = self.encoder.token_states([query.text])
            return emb, tokens[0].to(self.device), padding[0].to(self.device)
        if self.config.network.cross_attention and self.encoder.token_dim != self.encoder.dim:
            raise InvalidArgumentError(
                f"this model attends to text token states ({self.encoder.token_dim}-d) that an audio example does "
                f"not have; give the audio query '{query.name}' a text too, or use a model without cross-attention")
        token = emb[None, : self.encoder.token_dim]
        return emb, token, torch.zeros(1, dtype=torch.bool, device=self.device)

    def _segment_fn(self, sample_rate: int, queries: list[QueryLike], segment: int) -> BatchFn:
        """Per-batch extraction: list of (channels, L) native segments -> list of (queries, channels, L) stems."""
        query = self.encode_queries(queries)
        stft_cfg = self.config.stft
        projector = _projector(stft_cfg, sample_rate)
        model_len = round(segment * stft_cfg.sample_rate / sample_rate)

        def extract(chunks: list[np.ndarray]) -> list[np.ndarray]:
            mono = [resample_segment(downmix(chunk), sample_rate, stft_cfg.sample_rate)[None] for chunk in chunks]
            with torch.inference_mode():
                wave = torch.cat([pad_to(torch.from_numpy(m), model_len) for m in mono]).to(self.device)
                with self._precision():
                    masks = self.network.masks(wave, query).float()
                return [self._apply(chunk, mask, projector) for chunk, mask in zip(chunks, masks)]

        return extract

    def _precision(self) -> contextlib.AbstractContextManager[object]:
        """float16 autocast for the network when ``half`` is on, else nothing."""
        if self.half:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _apply(self, chunk: np.ndarray, masks: torch.Tensor, projector: MaskProjector) -> np.ndarray:
        """Masks (Q, bins, frames) at the model rate onto the native STFT of ``chunk`` -> (Q, channels, L).

        The projected masks are made shares of the input (:func:`share_masks`) before they are applied.
        """
        channels, length = chunk.shape
        spec = stft(torch.from_numpy(chunk).to(self.device), projector.n_fft, projector.hop_length)
        native = share_masks(projector.project(masks, spec.shape[-1]))
        masked = (native[:, None] * spec[None]).reshape(-1, *spec.shape[-2:])
        stems = istft(masked, projector.n_fft, projector.hop_length, length)
        return stems.reshape(-1, channels, length).cpu().numpy()


@functools.lru_cache(maxsize=16)
def _projector(stft_cfg: STFTConfig, sample_rate: int) -> MaskProjector:
    return MaskProjector(stft_cfg, sample_rate)
