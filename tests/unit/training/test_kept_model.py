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


def _trained(kept: KeptModel, study: Any, recipe: Any) -> Any:
    """The kept model after one epoch on ``recipe``: weights, averages, seeds and optimizer moved."""
    data, train = study.data, study.split.indices("train")
    with training_runtime(recipe.train, recipe.seed) as runtime:
        model = kept(recipe, data, train, runtime)
        built = _values(model)
        x = data.x[train].astype("float32")
        model.fit(x, data.y[train], epochs=1, batch_size=64, verbose=0)
        predict_arrays(model, x[:10], 8)
    assert model.predict_function is not None and model.train_function is not None
    assert any(not np.array_equal(a, b) for a, b in zip(built, _values(model), strict=True))
    return model


def _reused_and_fresh(kept: KeptModel, study: Any, recipe: Any) -> tuple[Any, Any]:
    data, train = study.data, study.split.indices("train")
    with training_runtime(recipe.train, recipe.seed) as runtime:
        again = kept(recipe, data, train, runtime)
    with training_runtime(recipe.train, recipe.seed) as runtime:
        fresh = build_model(recipe, data, train, runtime)
        fresh.optimizer.build(fresh.trainable_variables)
    assert [v.path for v in again.variables] == [v.path for v in fresh.variables]
    for reset, new in zip(_values(again), _values(fresh), strict=True):
        np.testing.assert_array_equal(reset, new)
    return again, fresh


def test_a_trial_that_changes_only_the_learning_rate_restarts_the_kept_optimizer(study: Any) -> None:
    kept = KeptModel()
    model = _trained(kept, study, _recipe(optimizer={"type": "sgd", "learning_rate": 0.05, "momentum": 0.9}))
    optimizer, steps = model.optimizer, (model.train_function, model.test_function, model.predict_function)
    # the second trial finds the start values with a new optimizer, the third reuses them
    for rate in (0.01, 0.2):
        trial = _recipe(optimizer={"type": "sgd", "learning_rate": rate, "momentum": 0.9}, batch_size=16)
        again, fresh = _reused_and_fresh(kept, study, trial)
        assert again is model and again.optimizer is optimizer  # compiled as before: steps stay traced
        assert (again.train_function, again.test_function, again.predict_function) == steps
        # step count, learning rate and momenta: what the trial's own optimizer starts from
        names = [v.path.split("/")[-1] for v in optimizer.variables]
        assert names == [v.path.split("/")[-1] for v in fresh.optimizer.variables]
        for restarted, new in zip(optimizer.variables, fresh.optimizer.variables, strict=True):
            np.testing.assert_array_equal(np.asarray(restarted.numpy()), np.asarray(new.numpy()))
        assert float(optimizer.learning_rate.numpy()) == pytest.approx(rate)
        _trained(kept, study, trial)  # moves everything again before the next trial


def test_a_trial_with_another_optimizer_compiles_the_kept_model_anew(study: Any) -> None:
    kept = KeptModel()
    model = _trained(kept, study, _recipe(optimizer={"type": "sgd", "learning_rate": 0.05, "momentum": 0.9}))
    traced, optimizer = model.predict_function, model.optimizer
    again, _ = _reused_and_fresh(kept, study, _recipe(optimizer={"type": "adam", "learning_rate": 0.01}))
    assert again is model and again.optimizer is not optimizer
    assert type(again.optimizer).__name__ == "Adam" and again.train_function is None
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


def test_under_mixed_precision_the_kept_model_is_compiled_anew(study: Any) -> None:
    kept = KeptModel()
    first = _recipe(optimizer={"type": "adam", "learning_rate": 0.05}, mixed_precision=True)
    model = _trained(kept, study, first)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "LossScaleOptimizer"
    second = _recipe(optimizer={"type": "adam", "learning_rate": 0.01}, mixed_precision=True)
    again, _ = _reused_and_fresh(kept, study, second)
    assert again is model and again.optimizer is not optimizer and again.train_function is None
