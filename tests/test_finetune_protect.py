"""Fine-tuning keeps what the base model knows: distillation, L2-SP, the replay pack and the forgetting report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from research.replaypack import build_replay_pack
from soundsift.core.finetune_info import read_finetune_info
from soundsift.errors import SoundsiftError
from soundsift.model.checkpoint import load_checkpoint
from soundsift.training.finetune.forgetting import describe_forgetting
from soundsift.training.finetune.name_words import load_name_words
from soundsift.training.finetune.protect import ProtectedLoss, distill_loss, l2sp_loss, protected_queries
from soundsift.training.finetune.protect_names import parse_protect
from soundsift.training.finetune.replay import check_mixtures
from soundsift.training.finetune.run import FinetuneSettings, finetune, finetune_loss_weights
from soundsift.training.regimes import MixtureBatch
from soundsift.vocabulary import SoundClass, Vocabulary
from tests.finetune_library import make_compact_base, make_library
from tests.train_corpus import make_corpus


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_compact_base(tmp_path_factory.mktemp("base") / "tiny-base")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pack")
    build_replay_pack([make_corpus(root / "corpus")], root / "pack", per_class=2, seconds=0.5)
    return root / "pack"


def _batch(items: int = 2, samples: int = 8000, single: bool = False) -> MixtureBatch:
    parts = torch.from_numpy(np.random.default_rng(0).standard_normal((items, 2, samples)).astype(np.float32)) * 0.1
    return MixtureBatch(parts, [["hiss", "hum"]] * items, torch.full((items, 2), single))


def test_protect_names_parse():
    assert parse_protect("none") == ()
    assert parse_protect(" L2SP, distill ,l2sp") == ("l2sp", "distill")
    with pytest.raises(SoundsiftError, match="distill, l2sp, replay"):
        parse_protect("distill,forget")


def test_distillation_protects_the_classes_the_captions_do_not_name():
    vocabulary = Vocabulary(tuple(SoundClass(label, "sfx", ()) for label in ("rain", "footsteps", "wind")))
    queries = protected_queries(vocabulary, ["rain on a tin roof", "Footstep gravel"], load_name_words(vocabulary))
    assert queries == ["the sound of wind"]


def test_distillation_is_zero_at_the_base_and_pulls_back_a_changed_model(base):
    network, encoder = load_checkpoint(base)
    frozen = load_checkpoint(base)[0].requires_grad_(False)
    rng = np.random.default_rng(0)
    batch = _batch()
    assert float(distill_loss(network, frozen, encoder, batch, ["the sound of rain", "wind"], rng).detach().max()) == 0.0
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.05)
    loss = distill_loss(network, frozen, encoder, batch, ["the sound of rain", "wind"], rng)
    assert loss.shape == (2,) and float(loss.min()) > 0
    loss.sum().backward()
    assert all(p.grad is None for p in frozen.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in network.parameters())


def test_l2sp_is_the_squared_distance_to_the_base_weights(base):
    network = load_checkpoint(base)[0]
    anchor = [p.detach().clone() for p in network.parameters()]
    assert float(l2sp_loss(network, anchor)) == 0.0
    with torch.no_grad():
        first = next(network.parameters())
        first.add_(0.1)
    assert float(l2sp_loss(network, anchor)) == pytest.approx(0.01 * first.numel(), rel=1e-4)


class _Constant(torch.nn.Module):
    def forward(self, batch: MixtureBatch) -> torch.Tensor:
        return torch.tensor(1.5)


def test_protected_loss_adds_only_the_terms_asked_for(base):
    network, encoder = load_checkpoint(base)
    frozen = load_checkpoint(base)[0]
    rng = np.random.default_rng(0)
    with torch.no_grad():
        next(network.parameters()).add_(0.1)
    plain = ProtectedLoss(_Constant(), network, encoder, frozen, (), ["the sound of rain"], rng)
    assert float(plain(_batch())) == 1.5
    l2sp = ProtectedLoss(_Constant(), network, encoder, frozen, ("l2sp",), ["the sound of rain"], rng)
    assert float(l2sp(_batch())) == pytest.approx(1.5 + 0.01 * float(l2sp_loss(network, l2sp.anchor)))
    distill = ProtectedLoss(_Constant(), network, encoder, frozen, ("distill",), ["the sound of rain"], rng)
    assert float(distill(_batch())) > 1.5
    assert float(distill(_batch(single=True))) == 1.5  # replayed single sources are not distilled


def test_finetuning_uses_the_weak_recipe_that_measured_best():
    weights = finetune_loss_weights(2)
    assert (weights.semantic_whiten, weights.remix, weights.clauses) == (40.0, 2.0, 2)


def test_replay_pack_builder_picks_per_class_and_records_licences(pack, tmp_path):
    entries = [json.loads(line) for line in (pack / "manifest.jsonl").read_text().splitlines()]
    train = [e for e in entries if e["split"] == "train"]
    test = [e for e in entries if e["split"] == "test"]
    assert len(train) == 2 * 4 and len(test) == 4 and all(e["licence"] == "CC0" for e in entries)
    assert all((pack / e["path"]).is_file() and e["duration"] == pytest.approx(0.5) for e in entries)
    assert "| synthetic | CC0 | 12 |" in (pack / "LICENCES.md").read_text()
    again = tmp_path / "again"
    build_replay_pack([pack.parent / "corpus"], again, per_class=2, seconds=0.5)
    assert (again / "manifest.jsonl").read_text() == (pack / "manifest.jsonl").read_text()
    mixtures = check_mixtures(16000, count=3, pack=pack)
    assert len(mixtures) == 3 and all(len(set(m.labels)) == 2 for m in mixtures)
    assert np.allclose(mixtures[0].mixture, mixtures[0].stems.sum(axis=0))


def test_replay_pack_keeps_classes_captioned_by_their_manifest_words(tmp_path):
    """Real-recording classes are not in the vocabulary table: their manifest's noun and clause caption them,
    so the pack keeps them (with those words) instead of dropping them."""
    corpus = make_corpus(tmp_path / "corpus")
    manifest = corpus / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    for row in rows:
        if row["labels"][0] == "tuba":
            row["labels"] = ["foghorn"]
            row["meta"] = {"noun": "a foghorn", "clause": "a foghorn sounds"}
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    entries = build_replay_pack([corpus], tmp_path / "pack", per_class=2, seconds=0.5)
    foghorn = [e for e in entries if e.label == "foghorn"]
    assert len(foghorn) == 3 and all(e.meta["noun"] == "a foghorn" for e in foghorn)
    assert len({e.label for e in entries}) == 4


def test_a_run_reports_forgetting_on_the_check_set(base, pack, tmp_path, monkeypatch):
    from soundsift.training.finetune import replay

    monkeypatch.setattr(replay, "PACK_DIR", pack)
    torch.set_num_threads(1)
    library = make_library(tmp_path / "lib", per_kind=2)
    messages = []
    settings = FinetuneSettings(library=str(library), name="kept", captions="filenames", base=str(base), steps=2,
                                batch_size=2, seconds=1.0, test_mixtures=1, holdout=0.0, validate_every=100,
                                check_mixtures=3)
    result = finetune(settings, tmp_path / "run", device="cpu", models_dir=tmp_path / "models",
                      on_event=lambda e: messages.append(e.text))
    info = read_finetune_info(result.model_dir)
    assert info["protect"] == ["replay"] and info["replay"] == [str(pack)]
    assert info["check_mixtures"] == 3 and info["check_change_db"] == pytest.approx(
        info["check_sdri"] - info["base_check_sdri"], abs=2e-3)
    assert describe_forgetting(info) in messages
    assert describe_forgetting({}).startswith("known sounds: not checked")


def test_check_mixtures_must_not_be_negative(tmp_path):
    with pytest.raises(SoundsiftError, match="check_mixtures"):
        FinetuneSettings(library=str(tmp_path), name="x", check_mixtures=-1).check()
