"""Optimizers: every registered type builds the Keras optimizer with the recipe's arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.errors import RecipeError
from dlkit.recipe.loader import load_recipe
from dlkit.training.optimizers import OPTIMIZERS, build_optimizer
from dlkit.training.spec import TrainSpec
from tests.conftest import write_recipe

CASES = {
    "sgd": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "rmsprop": ("RMSprop", {"rho": 0.8, "momentum": 0.5, "centered": True, "epsilon": 1e-6}),
    "adagrad": ("Adagrad", {"initial_accumulator_value": 0.2, "epsilon": 1e-6}),
    "adam": ("Adam", {"beta_1": 0.8, "beta_2": 0.99, "amsgrad": True}),
    "adamw": ("AdamW", {"weight_decay": 0.01, "beta_2": 0.98}),
    "nadam": ("Nadam", {"beta_1": 0.85, "epsilon": 1e-6}),
}


def test_every_registered_optimizer_is_covered() -> None:
    assert set(CASES) == set(OPTIMIZERS.names())


@pytest.mark.parametrize("name", sorted(CASES))
def test_optimizer_gets_the_recipe_arguments(name: str) -> None:
    cls_name, fields = CASES[name]
    spec = TrainSpec.model_validate(
        {"optimizer": {"type": name, "learning_rate": 0.05, "clipnorm": 1.5, "use_ema": True, **fields}}
    ).optimizer
    optimizer = build_optimizer(spec)
    assert type(optimizer).__name__ == cls_name
    config = optimizer.get_config()
    for key, value in {"learning_rate": 0.05, "clipnorm": 1.5, "use_ema": True, **fields}.items():
        assert config[key] == pytest.approx(value), key


def test_adam_family_defaults_follow_methodology() -> None:
    for name in ("adam", "adamw", "nadam"):
        spec = TrainSpec.model_validate({"optimizer": {"type": name}}).optimizer
        config = build_optimizer(spec).get_config()
        assert (config["beta_1"], config["beta_2"], config["epsilon"]) == (0.9, 0.999, 1e-8)
    assert build_optimizer(TrainSpec.model_validate({"optimizer": {"type": "adamw"}}).optimizer).get_config()[
        "weight_decay"
    ] == pytest.approx(0.004)


def test_one_clipping_rule_only(workdir: Path) -> None:
    path = write_recipe(
        workdir,
        """
        name: x
        data: {source: {type: sklearn, name: iris}}
        model: {type: mlp}
        train: {optimizer: {type: sgd, clipnorm: 1.0, clipvalue: 0.5}}
        """,
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.message == (
        f"{path}: train.optimizer: set only one of clipnorm, clipvalue, global_clipnorm "
        "(got clipnorm, clipvalue)"
    )


def test_full_batch_shorthand() -> None:
    spec = TrainSpec.model_validate({"batch_size": "full"})
    assert spec.full_batch and spec.batch_size == 64
    with pytest.raises(ValueError, match="batch_size"):
        TrainSpec.model_validate({"batch_size": "half"})
