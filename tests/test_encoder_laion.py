"""The ``laion`` encoder backend, built for real and offline.

The test makes what a user would have: a RoBERTa folder (a tiny config with laion-clap's
768-wide states, a byte-level BPE vocabulary and merges, as roberta-base ships them) and
a LAION-CLAP checkpoint in the released layout (``state_dict`` with ``module.`` keys, an
old ``position_ids`` buffer, an optimizer whose learning rate is a numpy scalar pickled
under numpy 1.x names).  The checkpoint holds seeded random weights of the real
HTSAT-tiny + RoBERTa model built by laion-clap's own code.
"""
from __future__ import annotations

import dataclasses
import fractions
import importlib.util
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import huggingface_hub.constants
import librosa
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from transformers import RobertaConfig

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.errors import CheckpointError
from soundsift.model import init_model, load_checkpoint, save_checkpoint
from soundsift.model.encoders import EncoderError, build_encoder
from soundsift.model.encoders.laion import LaionClapEncoder
from soundsift.model.encoders.laion_audio import ClipSpec, log_mel, resample
from soundsift.model.encoders.laion_package import build_clap, clap_model_module
from soundsift.model.unet import Query
from tests.conftest import TINY

TEXTS = ["a dog barks", "violin", "violin", "rain on a tin roof while a man talks"]


def byte_level_alphabet() -> list[str]:
    """The 256 printable characters byte-level BPE (GPT-2, RoBERTa) uses for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(shifted)) for b in range(256)]


def write_roberta_dir(directory: Path) -> Path:
    """config.json, vocab.json and merges.txt of a tiny RoBERTa, laid out as roberta-base is."""
    directory.mkdir(parents=True)
    merges = [("Ġ", "d"), ("o", "g"), ("Ġd", "og"), ("Ġ", "v"), ("i", "o")]
    tokens = ["<s>", "<pad>", "</s>", "<unk>", *byte_level_alphabet(), *(a + b for a, b in merges), "<mask>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    RobertaConfig(
        vocab_size=len(tokens), hidden_size=768, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=32, max_position_embeddings=80, pad_token_id=1, bos_token_id=0, eos_token_id=2,
    ).save_pretrained(directory)
    return directory


def save_released_layout(path: Path, state: dict[str, torch.Tensor]) -> Path:
    """Save ``state`` as LAION's training script saved its checkpoints, under numpy 1.x pickle names."""
    positions = torch.arange(80).unsqueeze(0)
    checkpoint = {
        "epoch": 45,
        "name": "test-run",
        "state_dict": {"module." + k: v for k, v in {**state, "text_branch.embeddings.position_ids": positions}.items()},
        "optimizer": {"state": {}, "param_groups": [{"lr": np.float64(1e-4), "betas": (0.9, 0.99), "params": [0]}]},
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            target.writestr(info.filename, data)
    return path


@dataclasses.dataclass
class LaionFiles:
    """What the test gives the backend, and the weights it saved."""

    text_dir: Path
    plain: Path
    fusion: Path
    plain_state: dict[str, torch.Tensor]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> LaionFiles:
    """A RoBERTa folder and checkpoints of the plain and the fusion HTSAT-tiny model."""
    root = tmp_path_factory.mktemp("laion")
    text_dir = write_roberta_dir(root / "roberta")
    clap_model_module()
    text_config = RobertaConfig.from_pretrained(text_dir)
    states = {}
    for fusion in (False, True):
        torch.manual_seed(7)
        states[fusion] = build_clap("HTSAT-tiny", fusion, text_config).state_dict()
        save_released_layout(root / f"clap-fusion-{fusion}.pt", states[fusion])
    return LaionFiles(text_dir, root / "clap-fusion-False.pt", root / "clap-fusion-True.pt", states[False])


def options(files: LaionFiles, **extra: object) -> dict[str, object]:
    return {"checkpoint": str(files.plain), "text_model_dir": str(files.text_dir), **extra}


@pytest.fixture(scope="module")
def encoder(files: LaionFiles) -> LaionClapEncoder:
    built = build_encoder(EncoderSpec(name="laion", options=options(files)))
    assert isinstance(built, LaionClapEncoder)
    return built


@pytest.fixture(scope="module")
def fusion_encoder(files: LaionFiles) -> LaionClapEncoder:
    built = build_encoder(EncoderSpec(name="laion", options=options(files, checkpoint=str(files.fusion),
                                                                     enable_fusion=True)))
    assert isinstance(built, LaionClapEncoder)
    return built


def tones(n: int, seconds: float, sample_rate: int, seed: int = 0, noise: float = 0.01) -> torch.Tensor:
    """Seeded tones plus noise. Shape: (n, samples)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    freqs = 200 + 2000 * torch.rand(n, 1, generator=gen)
    return 0.3 * torch.sin(2 * torch.pi * freqs * t) + noise * torch.randn(n, t.numel(), generator=gen)


def test_checkpoint_weights_are_loaded(files: LaionFiles, encoder: LaionClapEncoder) -> None:
    loaded = encoder.clap.state_dict()
    assert set(loaded) == set(files.plain_state)
    assert all(torch.equal(loaded[k], files.plain_state[k]) for k in loaded)
    assert not any(p.requires_grad for p in encoder.parameters())


def test_text_embeddings(encoder: LaionClapEncoder) -> None:
    emb = encoder.encode_text(TEXTS)
    assert emb.shape == (len(TEXTS), 512) == (len(TEXTS), encoder.dim)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(len(TEXTS)), atol=1e-5)
    assert torch.allclose(emb[1], emb[2], atol=1e-6)
    assert not torch.allclose(emb[0], emb[1], atol=1e-3)
    assert torch.allclose(encoder.encode_text(TEXTS[:1]), emb[:1], atol=1e-5)  # padding does not change it


def test_token_states(encoder: LaionClapEncoder) -> None:
    states, padding = encoder.token_states(TEXTS)
    assert states.shape[0] == len(TEXTS) and states.shape[2] == encoder.token_dim == 768
    assert padding.shape == states.shape[:2] and padding.dtype == torch.bool
    lengths = (~padding).sum(dim=1)
    assert lengths[1] == lengths[2] < lengths[3] == states.shape[1]
    assert not padding[:, 0].any()


def test_audio_embeddings_are_unit_deterministic_and_differentiable(encoder: LaionClapEncoder) -> None:
    wave = tones(2, 1.0, 16_000).requires_grad_()
    emb = encoder.encode_audio(wave, 16_000)
    assert emb.shape == (2, 512)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(emb, encoder.encode_audio(wave, 16_000), atol=1e-6)
    logits = encoder.logit_scale * emb @ encoder.encode_text(TEXTS[:2]).T
    torch.nn.functional.cross_entropy(logits, torch.arange(2)).backward()
    assert wave.grad is not None and torch.isfinite(wave.grad).all() and wave.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


@torch.no_grad()
def test_audio_at_any_rate_and_length(encoder: LaionClapEncoder) -> None:
    at_16k, at_48k = tones(1, 1.0, 16_000, seed=3, noise=0.0), tones(1, 1.0, 48_000, seed=3, noise=0.0)
    emb_16k, emb_48k = encoder.encode_audio(at_16k, 16_000), encoder.encode_audio(at_48k, 48_000)
    assert torch.nn.functional.cosine_similarity(emb_16k, emb_48k).item() > 0.99
    assert encoder.encode_audio(tones(1, 11.0, 8_000), 8_000).shape == (1, 512)  # longer than the 10 s clip


def test_fusion_model(fusion_encoder: LaionClapEncoder) -> None:
    for seconds in (2.0, 12.0):  # shorter than the 10 s clip (no fusion) and longer (fused chunks)
        wave = tones(1, seconds, 16_000).requires_grad_()
        emb = fusion_encoder.encode_audio(wave, 16_000)
        assert emb.shape == (1, 512) and torch.allclose(emb.norm(dim=-1), torch.ones(1), atol=1e-5)
        emb.sum().backward()
        assert wave.grad is not None and wave.grad.abs().sum() > 0


def test_stays_in_eval_mode(encoder: LaionClapEncoder) -> None:
    encoder.train()
    assert not encoder.training and not any(m.training for m in encoder.modules())


def test_fingerprint_follows_weights_not_file_location(
    files: LaionFiles, encoder: LaionClapEncoder, tmp_path: Path
) -> None:
    state = {k: v.contiguous() for k, v in files.plain_state.items()}
    moved = tmp_path / "elsewhere" / "clap.safetensors"  # another place, and another format
    moved.parent.mkdir()
    save_file(state, str(moved))
    assert build_encoder(EncoderSpec("laion", options(files, checkpoint=str(moved)))).fingerprint() == encoder.fingerprint()
    state["audio_projection.0.bias"] = state["audio_projection.0.bias"] + 1.0
    save_file(state, str(tmp_path / "changed.safetensors"))
    with pytest.raises(CheckpointError, match="fingerprint"):
        build_encoder(EncoderSpec("laion", options(files, checkpoint=str(tmp_path / "changed.safetensors")),
                                  encoder.fingerprint()))


def test_separator_conditioned_on_laion(files: LaionFiles, tmp_path: Path) -> None:
    config = ModelConfig(network=dataclasses.replace(TINY, cross_attention=True), encoder=EncoderSpec(name="laion", options=options(files)))
    network, encoder = init_model(config, seed=1)
    assert network.config.encoder.fingerprint == encoder.fingerprint()
    states, padding = encoder.token_states(TEXTS[:2])
    query = Query(encoder.encode_text(TEXTS[:2]), states, padding)
    wave = tones(1, 1.0, 16_000)
    masks = network.masks(wave, query)
    assert masks.shape[:2] == (1, 2) and ((masks >= 0) & (masks <= 1)).all()
    network2, encoder2 = load_checkpoint(save_checkpoint(tmp_path / "model", network, encoder))
    assert encoder2.fingerprint() == encoder.fingerprint()
    assert torch.allclose(network2.masks(wave, query), masks, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"checkpoint": "/nonexistent/630k-audioset-best.pt"}, CheckpointError, "no such LAION-CLAP checkpoint"),
        ({"checkpoint": ""}, CheckpointError, "needs option 'checkpoint'"),
        ({"text_model_dir": "/nonexistent/roberta-base"}, EncoderError, "is not a directory"),
        ({"amodel": "HTSAT-huge"}, EncoderError, "unknown laion-clap audio model"),
        ({"tmodel": "bert"}, EncoderError, "unknown laion encoder options"),
    ],
)
def test_clear_errors(files: LaionFiles, change: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build_encoder(EncoderSpec(name="laion", options=options(files, **change)))


def test_checkpoints_that_do_not_fit_or_are_unsafe(files: LaionFiles, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"does not fit .*enable_fusion=False.*unexpected \['audio_branch"):
        build_encoder(EncoderSpec("laion", options(files, checkpoint=str(files.fusion))))
    state = {k: v.contiguous() for k, v in files.plain_state.items()}
    state["audio_projection.0.weight"] = state["audio_projection.0.weight"][:, :100].contiguous()
    save_file(state, str(tmp_path / "narrow.safetensors"))
    with pytest.raises(CheckpointError, match=r"wrong shape \['audio_projection.0.weight \(512, 100\) for \(512, 768\)"):
        build_encoder(EncoderSpec("laion", options(files, checkpoint=str(tmp_path / "narrow.safetensors"))))
    torch.save({"state_dict": {"w": torch.ones(1)}, "other": fractions.Fraction(1, 3)}, tmp_path / "objects.pt")
    with pytest.raises(CheckpointError, match=r"cannot be read as weights only \(it refers to fractions.Fraction"):
        build_encoder(EncoderSpec("laion", options(files, checkpoint=str(tmp_path / "objects.pt"))))
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        build_encoder(EncoderSpec("laion", options(files, checkpoint=str(tmp_path / "notes.pt"))))


def test_text_folder_without_tokenizer_files(files: LaionFiles, tmp_path: Path) -> None:
    config_only = tmp_path / "roberta"
    config_only.mkdir()
    shutil.copy(files.text_dir / "config.json", config_only)
    with pytest.raises(EncoderError, match=r"needs config.json, vocab.json and merges.txt .*holds \['config.json'\]"):
        build_encoder(EncoderSpec("laion", options(files, text_model_dir=str(config_only))))


def test_roberta_from_the_hugging_face_cache(
    files: LaionFiles, encoder: LaionClapEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without text_model_dir, roberta-base's snapshot in the standard cache layout is used, offline."""
    repo = tmp_path / "hub" / "models--roberta-base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    shutil.copytree(files.text_dir, repo / "snapshots" / ("0" * 40))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    from_cache = build_encoder(EncoderSpec("laion", {"checkpoint": str(files.plain)}))
    assert from_cache.fingerprint() == encoder.fingerprint()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(EncoderError, match="no 'text_model_dir' option, and neither of"):
        build_encoder(EncoderSpec("laion", {"checkpoint": str(files.plain)}))


@pytest.fixture
def fresh_package_loader() -> object:
    """Run :func:`clap_model_module` from scratch, and again after the test."""
    clap_model_module.cache_clear()
    yield
    clap_model_module.cache_clear()


@pytest.mark.usefixtures("fresh_package_loader")
def test_missing_laion_clap_says_how_to_install(files: LaionFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "laion_clap" else find_spec(name, *a))
    with pytest.raises(EncoderError, match=r"laion-clap package; install it with: pip install 'soundsift\[laion\]'"):
        build_encoder(EncoderSpec(name="laion", options=options(files)))


@pytest.mark.usefixtures("fresh_package_loader")
def test_missing_dependency_is_named(files: LaionFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchlibrosa.stft", None)
    with pytest.raises(EncoderError, match=r"needs 'torchlibrosa.stft', which is missing; install it with"):
        build_encoder(EncoderSpec(name="laion", options=options(files)))


def test_laion_clap_package_itself_is_not_imported(encoder: LaionClapEncoder) -> None:
    """Only the model files load, under a private name; no torchvision stand-in is left behind."""
    assert "laion_clap" not in sys.modules
    for name in ("torchvision", "torchvision.ops", "torchvision.ops.misc"):
        assert name not in sys.modules or sys.modules[name].__spec__ is not None


def test_mel_matches_librosa() -> None:
    spec = ClipSpec(48_000, 480_000, 1024, 480, 64, 50, 14_000)
    wave = tones(1, 0.5, 48_000)
    expected = librosa.feature.melspectrogram(
        y=wave[0].numpy(), sr=48_000, n_fft=1024, hop_length=480, center=True, pad_mode="reflect", power=2.0,
        n_mels=64, fmin=50, fmax=14_000, htk=True, norm=None,
    )
    expected_db = 10 * np.log10(np.maximum(expected, 1e-10)).T
    assert np.abs(log_mel(wave, spec)[0].numpy() - expected_db).max() < 1e-3


def test_resample_is_band_limited_interpolation() -> None:
    t16, t48 = (torch.arange(rate, dtype=torch.float64) / rate for rate in (16_000, 48_000))
    up = resample(torch.sin(2 * torch.pi * 440 * t16)[None], 16_000, 48_000)
    assert up.shape == (1, 48_000)
    assert (up[0] - torch.sin(2 * torch.pi * 440 * t48)).abs().max() < 1e-9
    assert (resample(up, 48_000, 16_000)[0] - torch.sin(2 * torch.pi * 440 * t16)).abs().max() < 1e-9
