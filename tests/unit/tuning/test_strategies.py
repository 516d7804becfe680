"""The search-strategy registry: recipe validation, ``--strategy``, and every strategy's oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.errors import BuildError, RecipeError
from dlkit.recipe.loader import validate_recipe
from dlkit.tuning.search import _apply_cli
from dlkit.tuning.space import dimensions
from dlkit.tuning.spec import TuneSpec
from dlkit.tuning.strategies import STRATEGIES, make_oracle

RECIPE = {
    "name": "s",
    "data": {"source": {"type": "sklearn", "name": "digits"}},
    "model": {"type": "mlp"},
    "train": {"epochs": 4},
}
SPACE = {
    "train.optimizer.learning_rate": {"log": [1.0e-3, 1.0e-1]},
    "model.units.0": {"int": [4, 64]},
    "train.optimizer.type": {"choice": ["adam", "sgd"]},
}
ORACLES = {
    "random": "RandomSearchOracle",
    "grid": "GridSearchOracle",
    "bayesian": "BayesianOptimizationOracle",
    "hyperband": "HyperbandOracle",
}


def test_the_registry_holds_the_strategies_keras_tuner_offers() -> None:
    assert STRATEGIES.names() == sorted(ORACLES)
    assert TuneSpec.model_json_schema()["properties"]["strategy"]["enum"] == STRATEGIES.names()


def test_an_unknown_strategy_in_a_recipe_names_the_path_the_choices_and_a_guess() -> None:
    with pytest.raises(RecipeError) as info:
        validate_recipe({**RECIPE, "tune": {"strategy": "rnadom", "space": SPACE}}, "my.yaml", Path.cwd())
    assert info.value.lines == [
        "my.yaml: tune.strategy: unknown search strategy. Available: bayesian, grid, hyperband, random. "
        "Did you mean 'random'? (got 'rnadom')"
    ]


def test_an_unknown_strategy_on_the_command_line_names_the_option() -> None:
    recipe = validate_recipe({**RECIPE, "tune": {"space": SPACE}}, "my.yaml", Path.cwd())
    assert _apply_cli(recipe, strategy="grid", trials=None).tune.strategy == "grid"  # type: ignore[union-attr]
    with pytest.raises(RecipeError) as info:
        _apply_cli(recipe, strategy="hyperbnad", trials=0)
    assert info.value.lines == [
        "--strategy: unknown search strategy. Available: bayesian, grid, hyperband, random. "
        "Did you mean 'hyperband'? (got 'hyperbnad')",
        "--trials: input should be greater than or equal to 1 (got 0)",
    ]
    with pytest.raises(BuildError) as built:
        STRATEGIES.get("hyperbnad")
    assert built.value.message == (
        "Unknown search strategy 'hyperbnad'. Available: bayesian, grid, hyperband, random. "
        "Did you mean 'hyperband'?"
    )


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_makes_its_keras_tuner_oracle_over_the_space(name: str) -> None:
    spec = TuneSpec.model_validate({"strategy": name, "trials": 7, "grid_points": 4, "space": SPACE})
    dims = dimensions(spec)
    oracle = make_oracle(spec, dims, objective="dev_accuracy", direction="max", seed=0, train_epochs=5)
    assert type(oracle).__name__ == ORACLES[name]
    assert oracle.objective.name == "dev_accuracy" and oracle.objective.direction == "max"
    # keras-tuner would draw a random seed for 0 (`seed or random.randint`): dlkit's stays fixed
    assert oracle.seed == 2**31 - 1
    assert oracle.max_retries_per_trial == 0
    hp = {h.name: h for h in oracle.hyperparameters.space}
    assert set(hp) >= {"train.optimizer.learning_rate", "model.units.0", "train.optimizer.type"}
    rate = hp["train.optimizer.learning_rate"]
    if name == "grid":  # continuous dimensions at grid_points values
        assert type(rate).__name__ == "Choice" and len(rate.values) == 4
    else:
        assert type(rate).__name__ == "Float" and rate.sampling == "log"
    if name == "hyperband":  # the budget defaults to train.epochs
        assert oracle.max_epochs == 5 and oracle.factor == 3
    else:
        assert oracle.max_trials == 7
