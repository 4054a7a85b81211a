"""What both engines share, without torch: model configuration, model directories and names,
segmenting and resampling plans, STFT grids and the rule that makes several masks one split of
the input.  The torch network and query encoders live in :mod:`soundsift.model`."""
from __future__ import annotations

# ``chunked`` must name the function, not its submodule.
from soundsift.core.chunked import SegmentPlan as SegmentPlan
from soundsift.core.chunked import chunked as chunked
from soundsift.core.config import EncoderSpec as EncoderSpec
from soundsift.core.config import ModelConfig as ModelConfig
from soundsift.core.config import NetworkConfig as NetworkConfig
from soundsift.core.config import STFTConfig as STFTConfig
from soundsift.core.model_dir import read_config as read_config
from soundsift.core.store import list_models as list_models
from soundsift.core.store import resolve_model as resolve_model

__all__ = [
    "EncoderSpec",
    "ModelConfig",
    "NetworkConfig",
    "STFTConfig",
    "SegmentPlan",
    "chunked",
    "list_models",
    "read_config",
    "resolve_model",
]
