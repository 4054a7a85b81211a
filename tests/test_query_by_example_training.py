"""Query-by-example training and evaluation: recipe options, reference batches, held-out classes, audio eval."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from research.data.testset import TestsetSettings, build_testset
from soundsift.core import EncoderSpec, ModelConfig
from soundsift.model import init_model
from soundsift.separator import Separator
from soundsift.training import evaluate as ev
from soundsift.training.batches import BatchSource
from soundsift.training.recipe import DataRecipe, RecipeError, parse_recipe
from soundsift.training.references import ReferencePicker
from soundsift.training.regimes import LossWeights, mix_separate_loss
from tests.conftest import TINY
from tests.test_regimes import FrozenAudioTower
from tests.train_corpus import make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("qbe") / "corpus", clips_per_class=4)


def test_recipe_options_parse_and_are_checked(tmp_path):
    doc = {"regime": "supervised", "data": {"corpora": ["c"], "audio_query_fraction": 0.25, "exclude_classes": ["tuba"]}}
    data = parse_recipe(doc, base=tmp_path).data
    assert data.audio_query_fraction == 0.25 and data.exclude_classes == ("tuba",)
    assert parse_recipe({"regime": "supervised", "data": {"corpora": ["c"]}}).data.audio_query_fraction == 0.0
    for bad in ({"audio_query_fraction": 1.5}, {"exclude_classes": "tuba"}):
        with pytest.raises(RecipeError, match="recipe.data"):
            parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], **bad}})


def test_held_out_classes_never_reach_training(corpus):
    data = DataRecipe(corpora=(str(corpus),), seconds=0.5, exclude_classes=("tuba",))
    source = BatchSource(data, 16000, 4)
    assert "tuba" not in source.pool.labels and len(source.pool.labels) == 3
    rng = np.random.default_rng(0)
    captions = [c for _ in range(10) for item in source.next(rng).captions for c in item]
    assert captions and not any("tuba" in c for c in captions)
    with pytest.raises(Exception, match="do not have"):
        BatchSource(dataclasses.replace(data, exclude_classes=("banjo",)), 16000, 4)


def test_audio_query_fraction_draws_other_clips_of_the_same_class(corpus):
    base = DataRecipe(corpora=(str(corpus),), seconds=0.5)
    assert BatchSource(base, 16000, 4).next(np.random.default_rng(0)).references is None  # off: batches unchanged
    source = BatchSource(dataclasses.replace(base, audio_query_fraction=1.0), 16000, 4)
    batch = source.next(np.random.default_rng(1))
    assert batch.use_reference.all() and batch.references.shape == batch.parts.shape
    clips = {c.path: source.pool.load(c) for c in source.pool.clips}
    for b, item in enumerate(batch.captions):
        for n, caption in enumerate(item):
            ref = batch.references[b, n].numpy()
            owners = [p for p, audio in clips.items()
                      if any(np.array_equal(ref, audio[s : s + ref.size]) for s in np.flatnonzero(audio == ref[0]))]
            assert owners, "every reference is a crop of a training clip"
            label = owners[0].stem.rsplit("-", 1)[0]
            assert label in caption  # same class as the part it queries
    half = BatchSource(dataclasses.replace(base, audio_query_fraction=0.5), 16000, 8)
    flags = torch.cat([half.next(np.random.default_rng(s)).use_reference[:, 0] for s in range(6)])
    assert 0 < flags.float().mean() < 1


def test_reference_queries_change_what_the_loss_conditions_on(corpus):
    network = dataclasses.replace(TINY)
    net, _ = init_model(ModelConfig(network=network, encoder=EncoderSpec(options={"dim": 32})), seed=0)
    enc = FrozenAudioTower()
    source = BatchSource(DataRecipe(corpora=(str(corpus),), seconds=0.5, audio_query_fraction=1.0), 16000, 2)
    batch = source.next(np.random.default_rng(0))
    with_refs = mix_separate_loss(net, enc, batch, LossWeights())
    without = mix_separate_loss(net, enc, dataclasses.replace(batch, references=None, use_reference=None), LossWeights())
    assert not torch.allclose(with_refs, without)
    with_refs.mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_eval_with_audio_example_queries(corpus, tmp_path):
    build_testset(tmp_path / "test", TestsetSettings(corpora=(str(corpus),), mixtures=3), progress=False)
    testset = ev.load_testset(tmp_path / "test")
    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact")), seed=0)
    sep = Separator(net, enc, torch.device("cpu"))
    picker = ReferencePicker([corpus], splits=("val", "train"), seed=3, examples=2)  # the corpus has no val clips
    assert picker.pick("flute", "m", 0) == picker.pick("flute", "m", 0)
    assert len(set(picker.pick("flute", "m", 0))) == 2
    scores = ev.evaluate(ev.separator_estimator(sep), testset, net.config.stft,
                         query_fn=ev.audio_example_queries(picker))
    assert len(scores) == 6 and all(s.query == f"like {s.label}" for s in scores)
    again = ev.evaluate(ev.separator_estimator(sep), testset, net.config.stft, query_fn=ev.audio_example_queries(picker))
    assert [s.sdr for s in scores] == [s.sdr for s in again]
    held = scores[0].label
    summary = ev.summarise(scores, held_out=[held])
    assert summary["held-out"]["count"] == sum(s.label == held for s in scores)
    assert summary["seen"]["count"] + summary["held-out"]["count"] == summary["all"]["count"]
    assert picker.pick("flute", "m", 0)[0].parent.name == "train"
    with pytest.raises(Exception, match="no val/train clip of class 'banjo'"):
        picker.pick("banjo", "m", 0)
