"""The recipe gallery: every recipe validates, states what it teaches and its measured result, and
together they cover the course. No TensorFlow: validation only."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.errors import RecipeError
from dlkit.gallery import GALLERY_DIR, HEADER_FIELDS, gallery_recipe, gallery_recipes
from dlkit.recipe.loader import load_recipe
from dlkit.recipe.schema import Recipe
from tests.conftest import REPO

RECIPES = gallery_recipes()


def _load(name: str) -> Recipe:
    return load_recipe(gallery_recipe(name).path)


@pytest.mark.parametrize("entry", RECIPES, ids=[r.name for r in RECIPES])
def test_every_gallery_recipe_validates_and_states_its_result(entry) -> None:
    recipe = load_recipe(entry.path)
    assert recipe.name == entry.path.stem
    for field in HEADER_FIELDS:
        value = entry.fields.get(field, "")
        assert value and "MEASURED" not in value, f"{entry.path.name}: header '{field}:' missing"
    assert entry.summary
    # data files named by the recipe ship beside it (no download)
    path = getattr(recipe.data.source, "path", None)
    if path is not None:
        assert Path(path).is_file() or Path(path).is_dir(), path  # a file, or a folder of clips


def test_the_gallery_covers_the_course() -> None:
    recipes = {r.name: load_recipe(r.path) for r in RECIPES}
    models = [r.model for r in recipes.values()]
    spaces = [r.tune.space for r in recipes.values() if r.tune is not None]

    def choices(key: str) -> list:
        return [v for space in spaces if key in space for v in space[key].choice or []]

    assert any(m.type == "mlp" and m.units == [] for m in models)  # logistic regression
    assert any(m.type == "mlp" and len(m.units) == 1 for m in models)  # shallow
    assert any(m.type == "mlp" and len(m.units) >= 3 for m in models)  # deep
    regularized = choices("model")
    assert {"l2", "dropout"} <= {k for c in regularized for k, v in c.items() if v and k in ("l2", "dropout")}
    optimizers = choices("train.optimizer")
    assert {o["type"] for o in optimizers} >= {"sgd", "rmsprop", "adam"}
    assert any(o["type"] == "sgd" and o.get("momentum", 0) > 0 for o in optimizers)
    assert recipes["digits-optimizers"].train.schedule is not None
    types = {m.type for m in models}
    assert {"cnn", "lenet5", "resnet", "transformer", "seq2seq", "transfer"} <= types
    assert {m.cell for m in models if m.type == "rnn"} == {"lstm", "gru"}
    assert any(r.known_task() == "multitask" for r in recipes.values())
    assert any(r.tune is not None and r.tune.strategy == "random" for r in recipes.values())
    split = recipes["shift-target"].data.split
    assert split is not None and split.target_distribution is not None and split.train_dev > 0


def test_the_quick_start_path_is_the_gallery() -> None:
    assert (REPO / "recipes" / "digits-cnn.yaml").resolve() == (GALLERY_DIR / "digits-cnn.yaml").resolve()


def test_an_unknown_gallery_name_says_which_exist() -> None:
    with pytest.raises(RecipeError, match=r"no gallery recipe 'digits-cnm'.*Did you mean 'digits-cnn'\?"):
        gallery_recipe("digits-cnm")


def test_init_list_shows_every_gallery_recipe() -> None:
    result = CliRunner().invoke(app, ["init", "--list"])  # at the console's own width
    assert result.exit_code == 0, result.output
    for entry in RECIPES:
        assert entry.name in result.output
    assert str(GALLERY_DIR) in result.output
