"""Warm start: ``[model] init_from`` starts the network from a model's weights, refuses a model that does not fit,
and never overwrites a resumed checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from soundsift.model import load_checkpoint
from soundsift.training.recipe import RecipeError, load_recipe
from soundsift.training.trainer import _start, train
from tests.conftest import make_model
from tests.train_corpus import make_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# the network of tests.conftest.make_model's tiny models, and their query encoder
RECIPE = """
name = "warm"
regime = "supervised"
[model]
init_from = "{init_from}"
[model.network]
base_channels = 4
max_channels = 16
depth = {depth}
fusion_maps = 4
[model.encoder]
name = "ngram"
options = {options}
[data]
corpora = ["corpus"]
seconds = 0.5
[optim]
steps = {steps}
batch_size = 2
lr = 0.003
checkpoint_every = 2
log_every = 1
"""


def _recipe(root: Path, init_from: str, depth: int = 3, options: str = "{}", steps: int = 2,
            across: bool = False) -> Path:
    path = root / "warm.toml"
    text = RECIPE.format(init_from=init_from, depth=depth, options=options, steps=steps)
    if across:
        text = text.replace("[model]\n", "[model]\ninit_across_encoders = true\n")
    path.write_text(text)
    return path


def _weights(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _fresh(recipe_path: Path, run_dir: Path, resume: bool = False) -> dict[str, torch.Tensor]:
    network = _start(load_recipe(recipe_path), run_dir, resume, torch.device("cpu"), np.random.default_rng(0))[0]
    return _weights(network)


def test_a_fresh_run_starts_from_the_models_weights(tmp_path):
    source = make_model(tmp_path / "base", seed=5)
    recipe = _recipe(tmp_path, "./base")  # a folder, taken from the recipe's folder
    assert load_recipe(recipe).init_from == str(tmp_path / "base")
    weights = _fresh(recipe, tmp_path / "run")
    assert _same(weights, _weights(load_checkpoint(source)[0]))
    random_start = _recipe(tmp_path, "./base").read_text().replace('init_from = "./base"\n', "")
    (tmp_path / "cold.toml").write_text(random_start)
    assert not _same(weights, _fresh(tmp_path / "cold.toml", tmp_path / "run"))


def test_init_from_takes_a_model_name_from_the_store(tmp_path, isolated_model_store):
    source = make_model(isolated_model_store / "base", seed=7)
    recipe = _recipe(tmp_path, "base")
    assert load_recipe(recipe).init_from == "base"
    assert _same(_fresh(recipe, tmp_path / "run"), _weights(load_checkpoint(source)[0]))


@pytest.mark.parametrize(("recipe_args", "message"), [
    ({"depth": 2}, r"network\.depth is 2 in the recipe, 3 in the model"),
    ({"options": "{ dim = 32 }"}, r"query encoder is 'ngram' \(fingerprint \w+\) in the recipe, 'ngram' \(fingerprint"),
])
def test_a_model_that_does_not_fit_is_refused_naming_what_differs(tmp_path, recipe_args, message):
    make_model(tmp_path / "base")
    with pytest.raises(RecipeError, match=r"model\.init_from = '[^']+/base' does not fit the recipe's model: " + message):
        _fresh(_recipe(tmp_path, "./base", **recipe_args), tmp_path / "run")


def test_across_encoders_keeps_the_weights_of_a_model_trained_with_another_encoder(tmp_path):
    source = make_model(tmp_path / "base", seed=5)
    other_encoder = _recipe(tmp_path, "./base", options='{ dim = 128, note = "retrained" }', across=True)
    assert load_recipe(other_encoder).init_across_encoders
    assert _same(_fresh(other_encoder, tmp_path / "run"), _weights(load_checkpoint(source)[0]))
    other_sizes = _recipe(tmp_path, "./base", options="{ dim = 32 }", across=True)
    with pytest.raises(RecipeError, match=r"model\.init_from = '[^']+/base': .*model\.safetensors: weights do not match "
                                          r"the recipe's network \(tensors: \d+ of another shape, e\.g\. .* has \(.*32"):
        _fresh(other_sizes, tmp_path / "run")
    depth = _recipe(tmp_path, "./base", depth=2, across=True)
    with pytest.raises(RecipeError, match=r"network\.depth is 2 in the recipe, 3 in the model"):
        _fresh(depth, tmp_path / "run")


def test_across_encoders_is_a_boolean_beside_init_from(tmp_path):
    text = _recipe(tmp_path, "./base", across=True).read_text()
    (tmp_path / "word.toml").write_text(text.replace("init_across_encoders = true", 'init_across_encoders = "yes"'))
    with pytest.raises(RecipeError, match=r"model: init_across_encoders must be true or false, got 'yes'"):
        load_recipe(tmp_path / "word.toml")
    (tmp_path / "alone.toml").write_text(text.replace('init_from = "./base"\n', ""))
    with pytest.raises(RecipeError, match=r"model: init_across_encoders needs init_from"):
        load_recipe(tmp_path / "alone.toml")


def test_an_unknown_or_missing_model_is_one_recipe_error(tmp_path):
    with pytest.raises(RecipeError, match=r"model\.init_from = 'nosuch': unknown model 'nosuch'"):
        _fresh(_recipe(tmp_path, "nosuch"), tmp_path / "run")
    with pytest.raises(RecipeError, match=r"no such model directory"):
        _fresh(_recipe(tmp_path, "./absent"), tmp_path / "run")


def test_init_from_must_be_text(tmp_path):
    path = _recipe(tmp_path, "x").read_text().replace('init_from = "x"', "init_from = 3")
    (tmp_path / "bad.toml").write_text(path)
    with pytest.raises(RecipeError, match=r"model: init_from must be a model name or folder, got 3"):
        load_recipe(tmp_path / "bad.toml")


def test_resume_keeps_the_checkpoint_instead_of_the_init_model(tmp_path):
    make_corpus(tmp_path / "corpus", clips_per_class=2)
    source = _weights(load_checkpoint(make_model(tmp_path / "base", seed=5))[0])
    recipe = _recipe(tmp_path, "./base", steps=2)
    train(load_recipe(recipe), tmp_path / "run", progress_bar=False)
    trained = _weights(load_checkpoint(tmp_path / "run" / "checkpoint")[0])
    assert not _same(trained, source)
    assert _same(_fresh(recipe, tmp_path / "run", resume=True), trained)


def test_the_v2_recipe_warm_starts_from_the_default_model():
    assert load_recipe("default-model-v2").init_from == "default"
