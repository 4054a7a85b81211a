"""``extends``: a recipe is another recipe with its own keys laid over it."""
from __future__ import annotations

from pathlib import Path

import pytest

from soundsift.training.recipe import RecipeError, load_recipe

BASE = """
name = "base"
regime = "supervised"
[model.network]
base_channels = 4
depth = 3
[data]
corpora = ["corpus"]
seconds = 2.0
category_weights = { music = 2.0 }
[optim]
steps = 100
lr = 0.001
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_a_recipe_changes_only_what_it_names(tmp_path: Path) -> None:
    _write(tmp_path / "lab", "base.toml", BASE)
    child = _write(tmp_path / "lab", "child.toml", """
extends = "base.toml"
name = "child"
[model.network]
depth = 4
[data]
category_weights = { speech = 3.0 }
[optim]
steps = 50
""")
    base, recipe = load_recipe(tmp_path / "lab" / "base.toml"), load_recipe(child)
    assert recipe.name == "child" and recipe.regime == "supervised"
    assert (recipe.model.network.base_channels, recipe.model.network.depth) == (4, 4)  # merged key by key
    assert recipe.data.category_weights == {"music": 2.0, "speech": 3.0}
    assert (recipe.optim.steps, recipe.optim.lr) == (50, base.optim.lr)
    assert recipe.data.corpora == base.data.corpora == (str(tmp_path / "lab" / "corpus"),)


def test_extends_chains_and_takes_built_in_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "base.toml", BASE)
    _write(tmp_path, "middle.toml", 'extends = "base.toml"\n[optim]\nsteps = 7\n')
    last = _write(tmp_path, "last.toml", 'extends = "middle.toml"\n[optim]\nlr = 0.01\n')
    recipe = load_recipe(last)
    assert (recipe.name, recipe.optim.steps, recipe.optim.lr) == ("base", 7, 0.01)
    weak = load_recipe(_write(tmp_path, "weak2.toml", 'extends = "weak"\n[optim]\nsteps = 3\n'))
    assert weak.regime == "weak" and weak.optim.steps == 3 and weak.loss == load_recipe("weak").loss


@pytest.mark.parametrize(("text", "message"), [
    ('extends = 3\n', r"child\.toml: extends must name a built-in recipe or a recipe file, got 3"),
    ('extends = "nowhere.toml"\n', r"nowhere\.toml: no such recipe file"),
    ('extends = "child.toml"\n', r"child\.toml: extends goes round in a circle \(.*child\.toml -> .*child\.toml\)"),
])
def test_a_bad_extends_is_one_recipe_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_recipe(_write(tmp_path, "child.toml", text))
