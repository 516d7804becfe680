"""A study's kept model: reset to what a new build gives, or built anew when the build differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlkit.models.outputs import predict_arrays
from dlkit.recipe.loader import validate_recipe
from dlkit.training.pipeline import KeptModel, build_model
from dlkit.training.prepare import split_recipe
from dlkit.training.runtime import training_runtime


def _recipe(**train: Any) -> Any:
    mapping = {
        "name": "kept",
        "seed": 4,
        "data": {"source": {"type": "sklearn", "name": "breast_cancer"}},
        "model": {"type": "mlp", "units": [8], "dropout": 0.2, "batch_norm": True},
        "train": {"epochs": 1, "batch_size": 64, **train},
    }
    return validate_recipe(mapping, "kept.yaml", Path.cwd())


@pytest.fixture(scope="module")
def study() -> Any:
    return split_recipe(_recipe())


def _values(model: Any) -> list[np.ndarray]:
    return [np.array(v.numpy()) for v in model.variables]


def test_a_kept_model_is_reset_to_a_new_builds_state(study: Any) -> None:
    data, train = study.data, study.split.indices("train")
    kept = KeptModel()
    first = _recipe(optimizer={"type": "adam", "learning_rate": 0.05})
    with training_runtime(first.train, first.seed) as runtime:
        model = kept(first, data, train, runtime)
        built = _values(model)
        x = data.x[train].astype("float32")
        model.fit(
            x, data.y[train], epochs=1, batch_size=64, verbose=0
        )  # weights, moving averages, seeds move
        predict_arrays(model, x[:10], 8)
        traced = model.predict_function
    assert traced is not None
    assert any(not np.array_equal(a, b) for a, b in zip(built, _values(model), strict=True))

    second = _recipe(optimizer={"type": "sgd", "learning_rate": 0.01}, epochs=3, batch_size=16)
    with training_runtime(second.train, second.seed) as runtime:
        again = kept(second, data, train, runtime)
        assert again is model  # only the optimizer and the fit differ: the same model
        with training_runtime(second.train, second.seed) as fresh_runtime:
            fresh = build_model(second, data, train, fresh_runtime)
    assert [v.path for v in again.variables] == [v.path for v in fresh.variables]
    for reset, new in zip(_values(again), _values(fresh), strict=True):
        np.testing.assert_array_equal(reset, new)
    assert type(again.optimizer).__name__ == "SGD"
    assert float(again.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert again.predict_function is traced  # compiled anew, with the traced predict function kept


@pytest.mark.parametrize(
    "change",
    [
        {"model": {"type": "mlp", "units": [16], "dropout": 0.2, "batch_norm": True}},
        {"seed": 5},
        {"train": {"epochs": 1, "regularization": {"l2": 0.01}}},
    ],
)
def test_a_different_build_gets_a_new_model(study: Any, change: dict[str, Any]) -> None:
    data, train = study.data, study.split.indices("train")
    kept = KeptModel()
    base = _recipe()
    with training_runtime(base.train, base.seed) as runtime:
        model = kept(base, data, train, runtime)
    other = validate_recipe(
        {**base.model_dump(mode="json", exclude_unset=True), **change}, "other.yaml", Path.cwd()
    )
    with training_runtime(other.train, other.seed) as runtime:
        assert kept(other, data, train, runtime) is not model
        # other training rows: other normalisation statistics
        assert kept(other, data, train[:-5], runtime) is not kept(other, data, train, runtime)
