"""``soundsift train separator -h`` names every built-in recipe, read from the recipes shipped."""
from __future__ import annotations

from soundsift.cli import build_parser
from soundsift.training.recipe_names import builtin_recipes


def test_recipe_help_lists_every_builtin_recipe(capsys) -> None:
    parser = build_parser()
    try:
        parser.parse_args(["train", "separator", "-h"])
    except SystemExit:
        pass
    help_text = " ".join(capsys.readouterr().out.split())
    names = builtin_recipes()
    assert {"default-model", "zero-shot", "weak"} <= set(names)
    for name in names:
        assert name in help_text
