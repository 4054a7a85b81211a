"""``python -m research clap`` end to end on a tiny corpus, resuming, and its parts (loss, augmentation, sampler)."""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from research.clap.augment import Augmentation, equalise, gain_and_noise, pitch_shift, random_crop
from research.clap.captions import caption_pool
from research.clap.checkpoint import OPTIMIZER_FILE, TRAINER_FILE, WEIGHTS_DIR, save_run
from research.clap.clips import load_clips
from research.clap.loss import symmetric_info_nce
from research.clap.report import embed_texts, zero_shot
from research.clap.sampler import PairSampler
from research.clap.trainer import ClapSettings, learning_rate_factor, train_clap, training_captions
from research.cli import main
from soundsift.core import EncoderSpec
from soundsift.errors import SoundsiftError
from soundsift.model.encoders import build_encoder
from soundsift.model.encoders.compact_model import AudioConfig, CompactClap, CompactConfig
from soundsift.model.encoders.compact_weights import read_weights, write_weights
from soundsift.training.data.manifest import read_manifest, write_manifest
from soundsift.training.data.vocabulary import PARAPHRASES, VOCABULARY, paraphrases_for
from tests.disk_log import flushed_before_published
from tests.train_corpus import make_corpus

QUICK = Augmentation(crop_seconds=0.5)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("clap-corpora")
    return str(make_corpus(root / "a", clips_per_class=3)), str(make_corpus(root / "b", clips_per_class=2))


def settings(corpora: tuple[str, str], **changes: object) -> ClapSettings:
    base = ClapSettings(corpora=corpora, steps=4, batch_size=4, checkpoint_every=2, clip_seconds=1.0,
                        warmup_steps=2, augmentation=QUICK)
    return dataclasses.replace(base, **changes)


def test_cli_trains_and_reports(corpora: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["clap", "--corpus", corpora[0], "--corpus", corpora[1], "--out", str(out), "--steps", "2",
            "--batch-size", "3", "--seed", "1", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "### test clips" in printed and "Zero-shot classification over 4 classes" in printed
    assert "weights:" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["steps_trained"] == 2 and list(report["splits"]) == ["test"]  # the corpora have no val clips
    scores = report["splits"]["test"]
    assert scores["classes"] == 4 and scores["clips"] == 4 + 4
    assert 0 <= scores["top1"] <= scores["top5"] <= 1
    assert set(scores["retrieval"]) == {"audio_to_text_r1", "audio_to_text_r5", "text_to_audio_r1", "text_to_audio_r5"}
    assert [p["query"] for p in scores["paraphrases"]] == ["fiddle"]  # the one whose class is in the corpus
    assert "| fiddle | violin |" in (out / "report.md").read_text()
    encoder = build_encoder(EncoderSpec(name="compact", options={"weights": str(out / "encoder")}))
    assert encoder.encode_audio(torch.zeros(1, 8000), 16_000).shape == (1, 384)
    assert main(argv) == 1  # the run exists: resuming has to be asked for
    assert "pass --resume" in capsys.readouterr().err


def test_held_out_classes_are_not_trained_and_are_scored_zero_shot(
        corpora: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["clap", "--corpus", corpora[0], "--corpus", corpora[1], "--out", str(out), "--steps", "2",
            "--batch-size", "3", "--holdout-class", "tuba", "--holdout-class", "flute", "--quiet"]
    assert main(argv) == 0
    scores = json.loads((out / "report.json").read_text())["splits"]["test"]
    assert scores["classes"] == 2 and scores["clips_of_unknown_classes"] == 4  # 2 test clips per class and corpus
    assert set(scores["per_class_top1"]) == {"violin", "xylophone"}
    assert scores["per_corpus"]["a"]["clips"] == scores["per_corpus"]["b"]["clips"] == 2
    unseen = scores["held_out_classes"]
    assert (unseen["classes"], unseen["all_classes"], unseen["clips"]) == (2, 4, 4)
    assert list(unseen["per_class_top1"]) == ["flute", "tuba"] and unseen["chance_top1"] == 0.5
    assert unseen["top1_all"] <= unseen["top1"] <= unseen["top5"] == 1.0
    model = read_weights(out / "encoder")
    train = load_clips(list(corpora), "train", model.config.audio.sample_rate, 1.0)
    kept = load_clips(list(corpora), "train", model.config.audio.sample_rate, 1.0,
                      keep=lambda label: label not in {"tuba", "flute"})
    assert kept.classes == ["violin", "xylophone"] and len(kept) < len(train)
    assert model.config.anchors == len(training_captions(kept, kept.classes)[0])  # no held-out caption is an anchor
    report = (out / "report.md").read_text()
    assert "Classes held out of training (2 classes, 4 clips)" in report and "| corpus a (2) |" in report


def test_a_held_out_class_the_corpora_lack_is_one_error(
        corpora: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["clap", "--corpus", corpora[0], "--out", str(tmp_path / "run"), "--steps", "2",
            "--holdout-class", "theremin", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "held-out class 'theremin'" in err and "no train clips" in err


def test_init_from_starts_at_the_given_weights(corpora: tuple[str, str], tmp_path: Path) -> None:
    first = tmp_path / "first"
    train_clap(first, settings(corpora, steps=2))
    source = read_weights(first / "encoder")
    assert source.config.anchors > 0
    warm = tmp_path / "warm"
    zero_lr = settings(corpora, steps=1, learning_rate=0.0, text_learning_rate=0.0, init_from=str(first / "encoder"))
    train_clap(warm, zero_lr)
    result = dict(read_weights(warm / "encoder").named_parameters())
    expected = dict(source.named_parameters())
    assert all(torch.equal(result[k], expected[k]) for k in expected)  # a zero rate keeps the warm start's parameters
    assert not torch.equal(expected["text_delta"], torch.zeros_like(expected["text_delta"]))  # it moved in the first run
    fresh = tmp_path / "fresh"
    train_clap(fresh, settings(corpora, steps=1, learning_rate=0.0, text_learning_rate=0.0))
    assert not torch.equal(read_weights(fresh / "encoder").text_delta, expected["text_delta"])


def test_init_from_weights_of_another_shape_is_one_error(corpora: tuple[str, str], tmp_path: Path) -> None:
    other = CompactClap(CompactConfig(text_model="test", audio=AudioConfig(n_mels=16, channels=(4, 8))))
    write_weights(tmp_path / "other", other)
    with pytest.raises(SoundsiftError, match="audio tower, size or text model differ"):
        train_clap(tmp_path / "run", settings(corpora, init_from=str(tmp_path / "other")))


NEW_CLASS = "wobble board"  # a class the vocabulary table lacks: its words come from manifest meta
NEW_WORDS = {"noun": "a wobble board", "clause": "a wobble board wobbles"}


def meta_named_corpus(root: Path, words_of_clip: Callable[[int], dict[str, str]]) -> str:
    """The tiny corpus with its xylophone clips relabelled as the new class, their words in meta."""
    corpus = make_corpus(root, clips_per_class=3)
    entries = read_manifest(corpus)
    renamed = [dataclasses.replace(e, labels=(NEW_CLASS,), caption=f"the sound of {words_of_clip(i)['noun']}",
                                   meta=words_of_clip(i))
               for i, e in enumerate(e for e in entries if e.label == "xylophone")]
    write_manifest(corpus / "manifest.jsonl", [e for e in entries if e.label != "xylophone"] + renamed)
    return str(corpus)


def test_a_class_named_by_manifest_meta_trains_and_is_scored_by_its_own_prompt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert NEW_CLASS not in VOCABULARY
    corpus = meta_named_corpus(tmp_path / "corpus", lambda i: NEW_WORDS)
    embedded: list[str] = []

    def recording(model: CompactClap, features: object, texts: list[str]) -> torch.Tensor:
        embedded.extend(texts)
        return embed_texts(model, features, texts)

    monkeypatch.setattr("research.clap.report.embed_texts", recording)
    out = tmp_path / "run"
    assert main(["clap", "--corpus", corpus, "--out", str(out), "--steps", "2", "--batch-size", "3", "--quiet"]) == 0
    scores = json.loads((out / "report.json").read_text())["splits"]["test"]
    assert scores["classes"] == 4 and scores["clips_of_unknown_classes"] == 0
    assert NEW_CLASS in scores["per_class_top1"]
    assert f"| {NEW_CLASS} |" in (out / "report.md").read_text()
    assert "the sound of a wobble board" in embedded
    model = read_weights(out / "encoder")
    train = load_clips([corpus], "train", model.config.audio.sample_rate, 1.0)
    captions, pools = training_captions(train, train.classes)
    assert model.config.anchors == len(captions)  # the anchors hold every trained class's captions
    assert "a wobble board wobbles" in [captions[i] for i in pools[train.classes.index(NEW_CLASS)]]


def test_clips_disagreeing_on_a_meta_named_class_are_one_error_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def words(i: int) -> dict[str, str]:
        return NEW_WORDS if i == 0 else {"noun": "a gum leaf", "clause": "a gum leaf whistles"}

    corpus = meta_named_corpus(tmp_path / "corpus", words)
    argv = ["clap", "--corpus", corpus, "--out", str(tmp_path / "run"), "--steps", "2", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"class '{NEW_CLASS}'" in err and "disagree" in err
    assert "'a wobble board'" in err and "'a gum leaf'" in err


def test_a_checkpoint_is_flushed_to_disk_before_it_replaces_the_last_one(tmp_path: Path, disk_log) -> None:
    model = CompactClap(CompactConfig(text_model="test", audio=AudioConfig(n_mels=16, channels=(4, 8))))
    optimizer = torch.optim.AdamW(model.parameters())
    for step in (1, 2):  # a first checkpoint, then one replacing it
        disk_log.clear()
        save_run(tmp_path / "run", model, optimizer, step, torch.Generator())
        flushed_before_published(disk_log, tmp_path / "run" / "checkpoint", [WEIGHTS_DIR, OPTIMIZER_FILE, TRAINER_FILE])
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint"]


def test_resume_after_interruption_matches_an_uninterrupted_run(corpora: tuple[str, str], tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    train_clap(whole, settings(corpora))

    def interrupt(step: int, steps: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        train_clap(cut, settings(corpora), on_step=interrupt)
    assert json.loads((cut / "checkpoint" / "trainer.json").read_text())["step"] == 2
    assert not (cut / "encoder").exists()
    seen: list[int] = []
    train_clap(cut, settings(corpora), resume=True, on_step=lambda step, steps, loss: seen.append(step))
    assert seen == [3, 4]
    expected, resumed = read_weights(whole / "encoder").state_dict(), read_weights(cut / "encoder").state_dict()
    assert all(torch.allclose(expected[k].float(), resumed[k].float(), atol=1e-6) for k in expected)
    with pytest.raises(SoundsiftError, match="other settings.*batch_size"):
        train_clap(cut, settings(corpora, batch_size=2), resume=True)


def test_loss_is_clips_loss_for_distinct_classes() -> None:
    gen = torch.Generator().manual_seed(0)
    audio = F.normalize(torch.randn(5, 8, generator=gen), dim=-1)
    text = F.normalize(torch.randn(5, 8, generator=gen), dim=-1)
    logits = 10.0 * audio @ text.T
    clip = 0.5 * (F.cross_entropy(logits, torch.arange(5)) + F.cross_entropy(logits.T, torch.arange(5)))
    loss = symmetric_info_nce(audio, text, torch.arange(5), torch.tensor(10.0))
    assert torch.allclose(loss, clip)
    order = torch.randperm(5, generator=gen)
    assert torch.allclose(symmetric_info_nce(audio[order], text[order], order, torch.tensor(10.0)), loss)


def test_loss_treats_same_class_captions_as_right_answers() -> None:
    text = torch.eye(3)[[0, 0, 1]]
    audio = torch.eye(3)[[0, 0, 1]]
    labels = torch.tensor([0, 0, 1])
    matched = symmetric_info_nce(audio, text, labels, torch.tensor(50.0))
    assert matched < 0.7  # log(2) is the floor: two equally right captions per clip of class 0
    assert matched < symmetric_info_nce(audio, text[[2, 2, 0]], labels, torch.tensor(50.0))


def test_augmentations_keep_shapes_and_do_nothing_at_zero() -> None:
    gen = torch.Generator().manual_seed(0)
    waves = torch.randn(3, 16_000, generator=gen)
    assert random_crop(waves, 8_000, gen).shape == (3, 8_000)
    assert random_crop(waves, 20_000, gen).shape == (3, 20_000)
    off = Augmentation(gain_db=0.0, noise_probability=0.0, eq_db=0.0, pitch_semitones=0.0)
    assert torch.allclose(gain_and_noise(waves, off, gen), waves)
    power = torch.rand(3, 257, 20, generator=gen)
    assert torch.allclose(equalise(power, off, gen), power)
    assert torch.allclose(pitch_shift(power, off, gen), power)
    on = Augmentation()
    assert equalise(power, on, gen).shape == pitch_shift(power, on, gen).shape == power.shape
    assert (pitch_shift(power, on, gen) >= 0).all()


def test_sampler_draws_distinct_classes_and_their_captions() -> None:
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    sampler = PairSampler(labels, [[0, 1], [2], [3, 4]])
    gen = torch.Generator().manual_seed(0)
    clips, captions, classes = sampler.sample(3, gen)
    assert sorted(classes.tolist()) == [0, 1, 2]
    assert all(labels[c] == k for c, k in zip(clips.tolist(), classes.tolist()))
    assert all(cap in ([0, 1], [2], [3, 4])[k] for cap, k in zip(captions.tolist(), classes.tolist()))
    assert sampler.sample(7, gen)[2].bincount().tolist() in ([3, 2, 2], [2, 3, 2], [2, 2, 3])
    with pytest.raises(ValueError, match="classes without clips"):
        PairSampler(labels, [[0], [1], [2], [3]])


def test_captions_and_paraphrases() -> None:
    pool = caption_pool("violin", ["a violin plays", "  "])
    assert {"violin", "the sound of a violin", "a violin plays"} <= set(pool) and len(pool) == len(set(pool))
    training_words = {w for label in ("violin", "man speaking", "saxophone") for c in caption_pool(label, [])
                      for w in c.split()}
    assert not {"fiddle", "sax", "talking", "person"} & training_words
    assert [p.query for p in paraphrases_for(["man speaking", "woman speaking"])] == [
        "a person talking", "a guy talking", "a lady talking"]
    assert len({p.query for p in PARAPHRASES}) == len(PARAPHRASES)
    with pytest.raises(SoundsiftError, match="no vocabulary entry"):
        caption_pool("theremin", [])


def test_zero_shot_rank_and_schedule() -> None:
    prompts = torch.eye(3)
    audio = torch.tensor([[1.0, 0.2, 0.0], [0.9, 0.1, 0.5], [0.5, 0.0, 1.0]])
    assert zero_shot(audio, prompts, torch.tensor([0, 2, 1])).tolist() == [0, 1, 2]
    s = ClapSettings(corpora=("x",), steps=100, warmup_steps=10)
    assert learning_rate_factor(0, s) == pytest.approx(0.1) and learning_rate_factor(10, s) == pytest.approx(1.0)
    assert learning_rate_factor(100, s) == pytest.approx(0.05) and not math.isnan(learning_rate_factor(1000, s))
