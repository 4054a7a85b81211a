"""The query-encoder registry: backends found by name, built with their weights fingerprint checked."""
from __future__ import annotations

from soundsift.core.config import EncoderSpec
from soundsift.errors import CheckpointError
from soundsift.model.encoders.base import QueryEncoder
from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.laion import LaionClapEncoder
from soundsift.model.encoders.ngram import NgramTextEncoder

ENCODERS: dict[str, type[QueryEncoder]] = {
    NgramTextEncoder.name: NgramTextEncoder,
    LaionClapEncoder.name: LaionClapEncoder,
    CompactClapEncoder.name: CompactClapEncoder,
}


def build_encoder(spec: EncoderSpec) -> QueryEncoder:
    """Construct the encoder a checkpoint names and check its weights fingerprint."""
    cls = ENCODERS.get(spec.name)
    if cls is None:
        raise CheckpointError(f"unknown query encoder '{spec.name}'; known: {sorted(ENCODERS)}")
    encoder = cls(spec.options)
    encoder.eval()
    if spec.fingerprint and spec.fingerprint != encoder.fingerprint():
        raise CheckpointError(
            f"the model was trained with query encoder '{spec.name}' fingerprint {spec.fingerprint}, "
            f"but the installed encoder has fingerprint {encoder.fingerprint()}"
        )
    return encoder
