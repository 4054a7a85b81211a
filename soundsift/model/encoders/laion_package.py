"""The parts of the ``laion-clap`` package the ``laion`` backend uses, loaded without torchvision.

``import laion_clap`` runs the package's training and evaluation code as well, which needs
torchvision, torchaudio, webdataset, wandb and more.  The model itself is
``laion_clap/clap_module/model.py`` with ``htsat.py``, ``pann_model.py`` and their
helpers, and those need torchvision for one name only: ``utils.py`` imports
``torchvision.ops.misc.FrozenBatchNorm2d``, which freezes the image towers (ResNet, timm)
that an audio-text CLAP never builds.

So :func:`clap_model_module` loads ``clap_module/model.py`` as a submodule of a private
package, ``_soundsift_laion_clap``, whose ``__init__`` is never run (that ``__init__``
imports the image transforms).  When torchvision is not installed, a stand-in module that
holds that one name sits in ``sys.modules`` for the duration of the import only; the
stand-in class refuses to be built.  The real ``laion_clap`` package is not touched.

``CLAP.__init__`` builds its text tower with ``RobertaModel.from_pretrained('roberta-base')``,
a download.  :func:`build_clap` binds that name, in the private copy and only while the
model is built, to a builder that makes the RoBERTa architecture from a local config; the
weights come from the CLAP checkpoint, which holds the whole text tower.

Nothing here downloads: ``HF_HUB_OFFLINE`` is set (unless the user set it) before
transformers is imported, and every ``from_pretrained`` call passes ``local_files_only``.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.machinery
import importlib.util
import json
import os
import pickle
import re
import sys
import threading
import types
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from soundsift.errors import CheckpointError
from soundsift.model.encoders.base import EncoderError

PRIVATE_PACKAGE = "_soundsift_laion_clap"
INSTALL_HINT = "install it with: pip install 'soundsift[laion]' && pip install --no-deps laion-clap==1.1.7"
ROBERTA_WIDTH = 768  # laion-clap's text projection takes 768-wide RoBERTa states
ROBERTA_CACHE_NAMES = ("roberta-base", "FacebookAI/roberta-base")

# Third-party modules that laion-clap's model files import.  They are imported before any
# torchvision stand-in exists, because transformers probes for torchvision as it loads.
_DEPENDENCIES = ("transformers", "torchlibrosa.stft", "torchlibrosa.augmentation", "h5py", "tqdm")
_TRANSFORMERS_NAMES = ("BertModel", "RobertaModel", "BartModel")
_TORCHVISION_PATH = ("torchvision", "torchvision.ops", "torchvision.ops.misc")
_TEXT_FILES = "config.json, vocab.json and merges.txt (or tokenizer.json)"
_BUILD_LOCK = threading.Lock()


class FrozenBatchNorm2dUnavailable:
    """Stand-in for ``torchvision.ops.misc.FrozenBatchNorm2d``, which only image towers use."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise EncoderError("laion-clap asked for torchvision's FrozenBatchNorm2d, which only its image towers use")


@functools.cache
def clap_model_module() -> types.ModuleType:
    """laion-clap's ``clap_module/model.py``, loaded as ``_soundsift_laion_clap.model``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _import_dependencies()
    spec = importlib.util.find_spec("laion_clap")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"the laion encoder needs the laion-clap package; {INSTALL_HINT}")
    clap_dir = Path(next(iter(spec.submodule_search_locations))) / "clap_module"
    package_spec = importlib.machinery.ModuleSpec(PRIVATE_PACKAGE, None, is_package=True)
    package_spec.submodule_search_locations = [str(clap_dir)]
    sys.modules[PRIVATE_PACKAGE] = importlib.util.module_from_spec(package_spec)
    try:
        with _torchvision_stand_in():
            return importlib.import_module(f"{PRIVATE_PACKAGE}.model")
    except Exception as exc:
        for name in [n for n in sys.modules if n.split(".")[0] == PRIVATE_PACKAGE]:
            del sys.modules[name]
        raise EncoderError(f"could not load laion-clap's model code from {clap_dir}: {exc}") from exc


def _import_dependencies() -> None:
    for name in _DEPENDENCIES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise EncoderError(f"the laion encoder needs '{exc.name or name}', which is missing; {INSTALL_HINT}") from exc
    transformers = sys.modules["transformers"]
    for name in _TRANSFORMERS_NAMES:
        getattr(transformers, name)  # transformers loads its model classes lazily, on first access
    importlib.import_module("transformers.tokenization_utils_base")


@contextlib.contextmanager
def _torchvision_stand_in() -> Iterator[None]:
    """Provide ``torchvision.ops.misc.FrozenBatchNorm2d`` while laion-clap imports, if torchvision is absent."""
    if importlib.util.find_spec("torchvision") is not None:
        yield
        return
    modules = {name: types.ModuleType(name) for name in _TORCHVISION_PATH}
    modules["torchvision"].ops = modules["torchvision.ops"]  # type: ignore[attr-defined]
    modules["torchvision.ops"].misc = modules["torchvision.ops.misc"]  # type: ignore[attr-defined]
    modules["torchvision.ops.misc"].FrozenBatchNorm2d = FrozenBatchNorm2dUnavailable  # type: ignore[attr-defined]
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name in _TORCHVISION_PATH:
            del sys.modules[name]


def _audio_model_configs() -> dict[str, dict[str, Any]]:
    """laion-clap's shipped model configs that have an audio tower (``HTSAT-tiny``, ``PANN-14``, ...)."""
    directory = Path(str(clap_model_module().__file__)).parent / "model_configs"
    configs = {path.stem: json.loads(path.read_text()) for path in directory.glob("*.json")}
    return {name: config for name, config in configs.items() if "audio_cfg" in config}


def text_model_folder(text_model_dir: str) -> Path:
    """``text_model_dir``, or roberta-base's snapshot in the Hugging Face cache when it is empty."""
    if text_model_dir:
        folder = Path(text_model_dir)
        if not folder.is_dir():
            raise EncoderError(f"text_model_dir '{text_model_dir}' is not a directory; it should hold roberta-base's "
                               f"{_TEXT_FILES}")
    else:
        folder = _cached_roberta()
    has_tokenizer = (folder / "tokenizer.json").is_file() or all(
        (folder / name).is_file() for name in ("vocab.json", "merges.txt")
    )
    if not (folder / "config.json").is_file() or not has_tokenizer:
        present = sorted(path.name for path in folder.iterdir())
        raise EncoderError(f"{folder}: a RoBERTa text model folder needs {_TEXT_FILES}; it holds {present}")
    return folder


def _cached_roberta() -> Path:
    from huggingface_hub import snapshot_download  # comes with transformers, the laion extra

    for name in ROBERTA_CACHE_NAMES:
        try:
            return Path(snapshot_download(name, local_files_only=True))
        except OSError:
            continue
    raise EncoderError(f"no 'text_model_dir' option, and neither of {list(ROBERTA_CACHE_NAMES)} is in the Hugging "
                       f"Face cache; point text_model_dir at a folder with roberta-base's {_TEXT_FILES}")


def load_text_model(text_model_dir: str) -> tuple[Any, Any]:
    """RoBERTa config and tokenizer from :func:`text_model_folder`, offline."""
    transformers = sys.modules["transformers"]
    folder = text_model_folder(text_model_dir)
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # transformers and tokenizers raise OSError, ValueError and bare Exception here
        raise EncoderError(f"{folder}: cannot read the RoBERTa config and tokenizer ({_first_line(exc)})") from exc
    if config.model_type != "roberta" or config.hidden_size != ROBERTA_WIDTH:
        raise EncoderError(f"{folder}: LAION-CLAP needs a RoBERTa text model {ROBERTA_WIDTH} wide, found "
                           f"model_type '{config.model_type}' with hidden_size {config.hidden_size}")
    return config, tokenizer


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class _RobertaFromConfig:
    """Answers ``RobertaModel.from_pretrained(name)`` with a fresh model of a local config."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def from_pretrained(self, name: str) -> nn.Module:
        return sys.modules["transformers"].RobertaModel(self.config)


def build_clap(amodel: str, enable_fusion: bool, text_config: Any) -> nn.Module:
    """An untrained laion-clap ``CLAP`` with audio tower ``amodel`` and a RoBERTa text tower."""
    configs = _audio_model_configs()
    if amodel not in configs:
        raise EncoderError(f"unknown laion-clap audio model '{amodel}'; known: {sorted(configs)}")
    config = configs[amodel]
    config["text_cfg"]["model_type"] = "roberta"
    module = clap_model_module()
    with _BUILD_LOCK:
        original = module.RobertaModel
        module.RobertaModel = _RobertaFromConfig(text_config)
        try:
            with warnings.catch_warnings():  # HTSAT's window attention calls torch.meshgrid the deprecated way
                warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
                return module.CLAP(**config, enable_fusion=enable_fusion,
                                   fusion_type="aff_2d" if enable_fusion else "None")
        finally:
            module.RobertaModel = original


def _numpy_scalar_globals() -> list[Any]:
    """What numpy scalars in a checkpoint (an optimizer's learning rate, say) unpickle through.

    Files written under numpy 1.x name the reconstructor ``numpy.core.multiarray.scalar``,
    files written under numpy 2 ``numpy._core.multiarray.scalar``; both are allowed.
    """
    scalar = np.float64(0).__reduce__()[0]
    dtype_classes = {type(np.dtype(code)) for code in "?bhilqBHILQefd"}
    return [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"), np.dtype,
            *sorted(dtype_classes, key=str)]


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a LAION-CLAP checkpoint (``.pt`` read weights-only, or ``.safetensors``).

    Released checkpoints hold ``{"epoch", "name", "state_dict", "optimizer"}`` with keys
    prefixed ``module.``; the prefix is removed.
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: no such LAION-CLAP checkpoint file")
    if path.suffix.lower() == ".safetensors":
        try:
            raw: Any = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from None
    else:
        raw = _torch_load_weights_only(path)
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def _torch_load_weights_only(path: Path) -> Any:
    with path.open("rb") as fh:
        pickled = fh.read(1) == pickle.PROTO
    if not pickled and not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle)")
    try:
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _weights_only_reason(str(exc))
        if reason is None:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint ({_first_line(exc)})") from None
        raise CheckpointError(
            f"{path}: cannot be read as weights only ({reason}); soundsift never unpickles arbitrary objects. "
            "If you trust the file, convert it to .safetensors once, as docs/encoders.md shows, and point "
            "'checkpoint' at it"
        ) from None
    except Exception as exc:  # torch.load reports foreign files with KeyError, RuntimeError, EOFError, ...
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(exc).__name__}: {_first_line(exc)})") from exc


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _weights_only_reason(message: str) -> str | None:
    """What a weights-only load refused, in torch's words less its advice to load unsafely; None if not such a refusal."""
    if "Weights only load failed" not in message:
        return None
    refused = _GLOBAL.search(message)
    if refused:
        return f"it refers to {refused.group(1)}, which is neither a tensor nor plain data"
    detail = [line.strip() for line in message.splitlines()[1:] if line.strip() and "weights_only" not in line
              and not line.strip().startswith(("Check the documentation", "(2)"))]
    return detail[0].removeprefix("WeightsUnpickler error:").strip() if detail else "it holds objects beyond tensors"


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], path: Path, hint: str) -> None:
    """Load ``state`` strictly, or raise :class:`CheckpointError` naming what does not fit and ``hint``."""
    expected = model.state_dict()
    # transformers < 4.31 saved RoBERTa's position_ids buffer; newer versions do not keep it.
    state = {k: v for k, v in state.items() if k in expected or not k.endswith("embeddings.position_ids")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = [
        f"{k} {tuple(state[k].shape)} for {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    if missing or unexpected or reshaped:
        details = [
            f"{label} {keys[:3]}{'...' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", reshaped))
            if keys
        ]
        raise CheckpointError(f"{path}: does not fit the {hint} ({', '.join(details)})")
    model.load_state_dict(state)
