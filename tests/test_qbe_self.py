"""Query-by-example training from the segment's own audio ([data] audio_query_source = "self")."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from soundsift.training.batches import BatchSource
from soundsift.training.recipe import DataRecipe, RecipeError, parse_recipe
from tests.train_corpus import make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("qbe-self") / "corpus", clips_per_class=3)


def test_self_queries_are_the_parts_own_audio(corpus):
    data = DataRecipe(corpora=(str(corpus),), seconds=0.5, audio_query_fraction=1.0, audio_query_source="self")
    batch = BatchSource(data, 16000, 4).next(np.random.default_rng(0))
    assert batch.use_reference.all()
    assert torch.equal(batch.references, batch.parts)


def test_other_clip_queries_stay_the_default_and_differ_from_the_part(corpus):
    data = DataRecipe(corpora=(str(corpus),), seconds=0.5, audio_query_fraction=1.0)
    assert data.audio_query_source == "other"
    batch = BatchSource(data, 16000, 4).next(np.random.default_rng(0))
    assert batch.use_reference.all()
    assert not any(torch.equal(batch.references[b, n], batch.parts[b, n])
                   for b in range(batch.parts.shape[0]) for n in range(batch.parts.shape[1]))


def test_audio_query_source_is_checked_in_recipes():
    doc = {"regime": "supervised", "data": {"corpora": ["c"], "audio_query_source": "self"}}
    assert parse_recipe(doc).data.audio_query_source == "self"
    doc["data"]["audio_query_source"] = "same"
    with pytest.raises(RecipeError, match="audio_query_source must be one of \\['other', 'self'\\], got 'same'"):
        parse_recipe(doc)
    with pytest.raises(ValueError):
        dataclasses.replace(DataRecipe(), audio_query_source="mine")
