"""Absent-class queries (target: silence) and held-in wordings in training batches and the loss."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.errors import SoundsiftError
from soundsift.model import init_model
from soundsift.training.batches import BatchSource
from soundsift.training.data.compose import caption_forms
from soundsift.training.data.vocabulary import PARAPHRASES, VOCABULARY, Phrase, phrase, wordings
from soundsift.training.recipe import DataRecipe, RecipeError, parse_recipe
from soundsift.training.regimes import LossWeights, MixtureBatch, absent_loss, mix_separate_loss
from tests.conftest import TINY
from tests.train_corpus import CLASSES, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("absent") / "corpus")


def _source(corpus, **data) -> BatchSource:
    return BatchSource(DataRecipe(corpora=(str(corpus),), seconds=0.5, **data), 16000, 8)


def _texts(label: str) -> set[str]:
    return set(caption_forms(phrase(label))) | set(wordings(label))


def _label_of(text: str) -> str:
    (label,) = [label for label in CLASSES if text in _texts(label)]
    return label


def test_off_by_default_no_absent_queries_and_captions_only(corpus):
    batch = _source(corpus).next(np.random.default_rng(0))
    assert batch.absent is None
    for item in batch.captions:
        assert all(text in caption_forms(phrase(_label_of(text))) for text in item)


def test_absent_queries_name_a_class_in_no_part(corpus):
    source = _source(corpus, absent_fraction=1.0)
    for seed in range(5):
        batch = source.next(np.random.default_rng(seed))
        assert batch.absent is not None and len(batch.absent) == 8
        for item, absent in zip(batch.captions, batch.absent):
            present = {_label_of(text) for text in item}
            assert absent is not None and _label_of(absent) not in present


def test_absent_fraction_is_a_share_of_the_items(corpus):
    source = _source(corpus, absent_fraction=0.5)
    flags = [a is not None for seed in range(10) for a in source.next(np.random.default_rng(seed)).absent]
    assert 0.25 < np.mean(flags) < 0.75


def test_paraphrase_fraction_words_queries_by_held_in_wordings(corpus):
    batch = _source(corpus, absent_fraction=1.0, paraphrase_fraction=1.0).next(np.random.default_rng(0))
    texts = [t for item in batch.captions for t in item] + list(batch.absent)
    assert all(t in wordings(_label_of(t)) for t in texts)


def test_same_seed_same_batch(corpus):
    source = _source(corpus, absent_fraction=0.5, paraphrase_fraction=0.5)
    a, b = source.next(np.random.default_rng(3)), source.next(np.random.default_rng(3))
    assert a.captions == b.captions and a.absent == b.absent and torch.equal(a.parts, b.parts)


def test_held_in_wordings_never_use_a_held_out_paraphrase():
    held_out = {p.query for p in PARAPHRASES}
    assert not held_out & {w for label in VOCABULARY for w in wordings(label)}


def _model():
    net, encoder = init_model(ModelConfig(network=dataclasses.replace(TINY), encoder=EncoderSpec(options={"dim": 32})),
                              seed=0)
    return net.train(), encoder


def _batch(absent: list[str | None] | None) -> MixtureBatch:
    t = np.arange(8192) / 16000
    parts = np.stack([[0.3 * np.sin(2 * np.pi * f * t) for f in (220, 1500)],
                      [0.2 * np.sign(np.sin(2 * np.pi * f * t)) for f in (330, 90)]]).astype(np.float32)
    return MixtureBatch(torch.from_numpy(parts), [["a violin", "a flute"], ["a trumpet", "a tuba"]],
                        torch.ones((2, 2), dtype=torch.bool), absent=absent)


def test_absent_loss_target_is_silence(monkeypatch):
    net, encoder = _model()
    batch = _batch(["a dog barking", None])
    weights = LossWeights()
    for logit in (-30.0, 30.0):
        monkeypatch.setattr(net, "mask_logits", lambda mag, query, logit=logit: torch.full(
            (mag.shape[0], query.embedding.shape[1], *mag.shape[1:]), logit))
        loss = absent_loss(net, encoder, batch, weights)
        assert loss[1] == 0.0  # no absent query, nothing asked of the item
        if logit < 0:  # a silent output meets the target
            assert float(loss[0]) < 1e-6
        else:  # passing the whole mixture costs its weighted magnitude
            assert float(loss[0]) > 0.01


def _absent_level_after_training(with_absent_term: bool) -> float:
    torch.manual_seed(0)
    net, encoder = _model()
    batch = _batch(["a dog barking", "rain falls"])
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(25):
        loss = mix_separate_loss(net, encoder, batch, LossWeights())
        if with_absent_term:
            loss = loss + absent_loss(net, encoder, batch, LossWeights())
        optimizer.zero_grad()
        loss.mean().backward()
        optimizer.step()
    with torch.no_grad():
        return float(absent_loss(net, encoder, batch, LossWeights()).mean())


def test_absent_loss_teaches_the_network_to_stay_silent():
    assert _absent_level_after_training(True) < 0.25 * _absent_level_after_training(False)


def test_batch_checks_one_absent_entry_per_item():
    with pytest.raises(ValueError, match="absent queries for 2 items"):
        _batch(["a dog barking"])
    assert _batch(["a dog", None]).select(torch.tensor([False, True])).absent == [None]


def test_recipe_checks_the_fractions_and_the_regime():
    base = {"regime": "supervised", "data": {"corpora": ["x"], "absent_fraction": 0.2, "paraphrase_fraction": 0.3}}
    recipe = parse_recipe(base)
    assert (recipe.data.absent_fraction, recipe.data.paraphrase_fraction) == (0.2, 0.3)
    with pytest.raises(RecipeError, match=r"absent_fraction must be in \[0, 1\]"):
        parse_recipe({**base, "data": {"corpora": ["x"], "absent_fraction": 1.5}})
    with pytest.raises(RecipeError, match="paraphrase_fraction must be in"):
        parse_recipe({**base, "data": {"corpora": ["x"], "paraphrase_fraction": -0.1}})
    with pytest.raises(RecipeError, match="absent_fraction needs a regime that queries by caption"):
        parse_recipe({"regime": "mixit", "data": {"corpora": ["x"], "absent_fraction": 0.2},
                      "model": {"network": {"learned_queries": 2}}})


def corpus_with_new_class(root, meta):
    """The tiny corpus plus a class the vocabulary table lacks ("anvil"), its entries carrying ``meta``."""
    from soundsift.audio import write_audio
    from soundsift.training.data.manifest import Entry, read_manifest, write_manifest

    make_corpus(root)
    entries = list(read_manifest(root))
    for i in range(3):
        rel = f"train/anvil-{i}.wav"
        write_audio(root / rel, 0.1 * np.ones((1, 16000), dtype=np.float32), 16000, "16")
        entries.append(Entry(path=rel, duration=1.0, sample_rate=16000, labels=("anvil",), caption="an anvil rings",
                             category="sfx", split="train", group=f"anvil-{i}", source="test", licence="CC0",
                             meta=meta))
    write_manifest(root / "manifest.jsonl", entries)
    return root


def test_a_class_outside_the_vocabulary_takes_its_words_from_the_manifest(tmp_path):
    words = Phrase("a hammer on an anvil", "a hammer rings on an anvil")
    meta = {"noun": words.noun, "clause": words.clause}
    source = _source(corpus_with_new_class(tmp_path / "c", meta), absent_fraction=1.0, paraphrase_fraction=0.5)
    texts = {t for seed in range(8) for batch in [source.next(np.random.default_rng(seed))]
             for t in [*(t for item in batch.captions for t in item), *batch.absent]}
    assert any("anvil" in t for t in texts)
    assert {t for t in texts if "anvil" in t} <= set(caption_forms(words)) | set(wordings("anvil", words))
    with pytest.raises(SoundsiftError, match="no vocabulary entry for class 'anvil'"):
        _source(corpus_with_new_class(tmp_path / "d", {}))

