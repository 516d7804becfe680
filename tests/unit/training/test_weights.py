"""Class and sample weights: known answers (scikit-learn's balanced weights), the one-line
refusals of bad weights, and the weights carried in every training batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from dlkit.errors import DataError, RecipeError
from dlkit.recipe.loader import load_recipe
from dlkit.training.prepare import load_data
from dlkit.training.weights import balanced_weights, check_weights, describe_weights, example_weights
from tests.conftest import write_recipe

RECIPE = """
name: w
data: {{source: {{type: csv, path: t.csv, target: label{source}}}}}
model: {{type: mlp, units: []}}
train: {{epochs: 1{train}}}
"""


def _table(folder: Path, weights: list[object] | None = None) -> None:
    labels = ["cat"] * 6 + ["dog"] * 3 + ["eel"]
    frame = pd.DataFrame({"a": np.arange(10.0), "label": labels})
    if weights is not None:
        frame["w"] = weights
    frame.to_csv(folder / "t.csv", index=False)


def _loaded(folder: Path, source: str = "", train: str = ""):
    recipe = load_recipe(write_recipe(folder, RECIPE.format(source=source, train=train)))
    return recipe, load_data(recipe)


def test_balanced_equals_sklearns_compute_class_weight() -> None:
    y = np.array([0] * 19 + [1] * 1 + [2] * 5)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    assert balanced_weights(y, 3) == pytest.approx(expected)
    assert balanced_weights(np.array([0, 0, 2]), 3) == pytest.approx([0.75, 1.0, 1.5])  # 1 absent: 1


def test_class_weights_by_label_times_sample_weights(workdir: Path) -> None:
    _table(workdir, weights=[1, 1, 1, 1, 1, 1, 2, 2, 2, 0.5])
    recipe, data = _loaded(workdir, source=", sample_weight: w", train=", class_weight: balanced")
    check_weights(recipe, data)
    assert "w" not in data.feature_names  # a weight is never a feature
    train = np.arange(10)
    balanced = compute_class_weight("balanced", classes=np.arange(3), y=data.y)  # 10/(3*6), 10/(3*3), 10/3
    expected = balanced[data.y] * np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 0.5])
    assert example_weights(recipe, data, train) == pytest.approx(expected, rel=1e-6)
    params = describe_weights(recipe, data, train)
    assert params["train.weighted_loss"] == "class_weight balanced; sample_weight column w"
    assert params["train.applied_class_weight.eel"] == pytest.approx(10 / 3, rel=1e-5)


def test_class_weights_given_per_label_default_to_one(workdir: Path) -> None:
    _table(workdir)
    recipe, data = _loaded(workdir, train=", class_weight: {eel: 4, dog: 2}")
    weights = example_weights(recipe, data, np.arange(10))
    assert weights is not None and weights.tolist() == [1.0] * 6 + [2.0] * 3 + [4.0]
    recipe, data = _loaded(workdir)
    assert (
        example_weights(recipe, data, np.arange(10)) is None
        and describe_weights(recipe, data, np.arange(10)) == {}
    )


def test_unknown_label_is_refused_in_one_line(workdir: Path) -> None:
    _table(workdir)
    recipe, data = _loaded(workdir, train=", class_weight: {cat: 1, cow: 3}")
    with pytest.raises(RecipeError) as info:
        check_weights(recipe, data)
    assert info.value.message == "train.class_weight: 'cow' is not a class; the classes are cat, dog, eel"


def test_class_weight_on_regression_is_refused(workdir: Path) -> None:
    pd.DataFrame({"a": np.arange(10.0), "label": np.arange(10.0) * 1.5}).to_csv(
        workdir / "t.csv", index=False
    )
    recipe, data = _loaded(workdir, train=", class_weight: balanced")
    with pytest.raises(
        RecipeError, match=r"^train.class_weight: applies to binary and multiclass tasks, not regression$"
    ):
        check_weights(recipe, data)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1] * 9 + [-1], "1 value(s) are not numbers >= 0 (the first: '-1', example id 9)"),
        ([1] * 8 + ["x", 1], "1 value(s) are not numbers >= 0 (the first: 'x', example id 8)"),
        ([0] * 10, "every weight is 0; nothing would be learnt"),
    ],
)
def test_bad_sample_weights_are_refused_naming_the_column(
    workdir: Path, weights: list[object], message: str
) -> None:
    _table(workdir, weights=weights)
    recipe, data = _loaded(workdir, source=", sample_weight: w")
    with pytest.raises(DataError) as info:
        check_weights(recipe, data)
    assert info.value.message == f"{workdir / 't.csv'}: sample_weight column 'w': {message}"


def test_schema_refuses_bad_class_weights_and_a_missing_weight_column(workdir: Path) -> None:
    _table(workdir)
    path = write_recipe(workdir, RECIPE.format(source="", train=", class_weight: {cat: 0}"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.lines == [
        f"{path}: train.class_weight: the weight of label 'cat' is 0.0; expected a number > 0"
    ]
    path = write_recipe(workdir, RECIPE.format(source="", train=", class_weight: often"))
    with pytest.raises(
        RecipeError, match=r"train\.class_weight: input should be 'balanced' or a valid dictionary"
    ):
        load_recipe(path)
    recipe = load_recipe(write_recipe(workdir, RECIPE.format(source=", sample_weight: weight", train="")))
    with pytest.raises(DataError, match=r"t.csv: no sample_weight column 'weight'"):
        load_data(recipe)


def test_the_training_stream_carries_the_weights() -> None:
    from dlkit.training.stream import epoch_stream

    x = np.arange(6, dtype=np.float32).reshape(6, 1)
    weights = np.array([1, 2, 3, 4, 5, 6], dtype=np.float32)
    stream = epoch_stream(x, np.zeros(6), 4, shuffle=True, seed=3, initial_epoch=0, epochs=1, weights=weights)
    for bx, _, bw in stream:
        assert bw.numpy().tolist() == (bx.numpy()[:, 0] + 1).tolist()  # each example keeps its own weight


def test_weights_on_a_streamed_table_are_refused(workdir: Path) -> None:
    _table(workdir, weights=[1] * 10)
    recipe, data = _loaded(workdir, source=", sample_weight: w, stream: true")
    with pytest.raises(RecipeError) as info:
        check_weights(recipe, data)
    assert info.value.message == (
        "data.source.sample_weight: weights are not applied to a streamed source; "
        "load it whole (stream: false)"
    )


def test_sample_weights_on_several_targets_are_refused_naming_the_tasks_that_take_them(
    workdir: Path,
) -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "s": [0, 1] * 5, "t": [1, 0, 0] * 3 + [1], "w": [1] * 10})
    frame.to_csv(workdir / "t.csv", index=False)
    text = RECIPE.replace("target: label", "target: [s, t]").format(source=", sample_weight: w", train="")
    recipe = load_recipe(write_recipe(workdir, text))
    data = load_data(recipe)
    with pytest.raises(RecipeError) as info:
        check_weights(recipe, data)
    assert info.value.message == (
        "data.source.sample_weight: applies to binary, multiclass, regression, not multitask"
    )
