"""The search space: distributions on their own scales, keras-tuner's view of them, narrowing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from dlkit.errors import RecipeError
from dlkit.recipe.loader import load_recipe
from dlkit.tuning.space import (
    Dimension,
    add_to_hyperparameters,
    apply_values,
    decode_values,
    dimensions,
    narrow,
    narrowed_space,
    warnings_for,
)
from dlkit.tuning.spec import DimensionSpec, TuneSpec
from tests.conftest import write_recipe


def dim(path: str, **spec: object) -> Dimension:
    return Dimension(path, DimensionSpec.model_validate(spec))


def test_one_minus_log_puts_half_the_draws_in_the_last_decade() -> None:
    beta = dim("train.optimizer.beta_1", one_minus_log=[0.9, 0.999])
    draws = np.asarray(beta.sample(20_000, np.random.default_rng(0)))
    assert draws.min() >= 0.9 and draws.max() <= 0.999
    # 1 - β ~ 10^U[-3, -1]: P(β >= 0.99) = P(r <= -2) = 1/2; binomial sd at n = 20,000 is 0.0035
    assert abs((draws >= 0.99).mean() - 0.5) < 0.015
    # and a quarter in each half-decade of 1 - β
    assert abs((draws >= 1 - 10**-2.5).mean() - 0.25) < 0.015


def test_one_minus_log_through_keras_tuner_matches_and_reverse_log_does_not() -> None:
    import keras_tuner

    beta = dim("train.optimizer.beta_1", one_minus_log=[0.9, 0.999])
    hp = keras_tuner.HyperParameters()
    add_to_hyperparameters(hp, [beta])
    [declared] = hp.space
    values = []
    for seed in range(4000):
        hp.values[beta.path] = declared.random_sample(seed)
        values.append(decode_values([beta], hp)[beta.path])
    draws = np.asarray(values)
    assert abs((draws >= 0.99).mean() - 0.5) < 0.03  # sd 0.008
    # keras-tuner's own reverse_log is another distribution (docs/method.md §5): far from a half
    reverse = keras_tuner.HyperParameters()
    reverse.Float("b", 0.9, 0.999, sampling="reverse_log")
    [rev] = reverse.space
    rdraws = np.asarray([rev.random_sample(s) for s in range(4000)])
    assert abs((rdraws >= 0.99).mean() - 0.5) > 0.2


def test_log_gives_each_decade_the_same_share() -> None:
    lr = dim("train.optimizer.learning_rate", log=[1e-4, 1e-1])
    draws = np.asarray(lr.sample(30_000, np.random.default_rng(1)))
    for lo in (1e-4, 1e-3, 1e-2):
        assert abs(((draws >= lo) & (draws < lo * 10)).mean() - 1 / 3) < 0.015


def test_int_log_and_linear_stay_integers_within_bounds() -> None:
    width = dim("model.units.0", int=[16, 512], scale="log")
    draws = width.sample(5000, np.random.default_rng(2))
    assert all(isinstance(v, int) and 16 <= v <= 512 for v in draws)
    # log scale: as many draws in [16, 90] as in [90, 512] (log10 midpoint 90.5)
    below = np.mean(np.asarray(draws) < 90.5)
    assert abs(below - 0.5) < 0.03


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"log": [0, 0.1]}, "log: bounds are values, not exponents, and must be > 0 (got [0, 0.1])"),
        ({"log": [-4, -1]}, "log: bounds are values, not exponents, and must be > 0 (got [-4, -1])"),
        ({"uniform": [1, 1]}, "uniform: expected [a, b] with a < b (got [1, 1])"),
        ({"one_minus_log": [0.9, 1.0]}, "one_minus_log: expected 0 <= a < b < 1 (got [0.9, 1])"),
        (
            {"uniform": [0, 1], "log": [1, 2]},
            "expected exactly one of uniform, log, one_minus_log, int, choice",
        ),
        ({"choice": []}, "choice: expected at least one value"),
    ],
)
def test_bad_distributions_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        DimensionSpec.model_validate(spec)
    assert message in str(err.value)


def test_a_recipe_with_log_from_zero_fails_on_one_line(workdir) -> None:
    path = write_recipe(
        workdir,
        """
        name: t
        data: {source: {type: sklearn, name: digits}}
        model: {type: mlp}
        tune: {space: {train.optimizer.learning_rate: {log: [0, 0.1]}}}
        """,
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert err.value.lines == [
        f"{path}: tune.space.train.optimizer.learning_rate: log: bounds are values, not exponents, and must "
        "be > 0 (got [0, 0.1]); for 10^-4 to 10^-1 write [1.0e-4, 1.0e-1]"
    ]


def test_conditional_dimension_is_active_only_with_its_parent_value() -> None:
    import keras_tuner

    spec = TuneSpec.model_validate(
        {
            "space": {
                "train.optimizer.momentum": {"uniform": [0.8, 0.99], "when": {"train.optimizer.type": "sgd"}},
                "train.optimizer.type": {"choice": ["adam", "sgd"]},
            }
        }
    )
    dims = dimensions(spec)
    assert [d.path for d in dims] == ["train.optimizer.type", "train.optimizer.momentum"]  # parents first
    hp = keras_tuner.HyperParameters()
    add_to_hyperparameters(hp, dims)
    hp.values["train.optimizer.type"] = "adam"
    assert decode_values(dims, hp) == {"train.optimizer.type": "adam"}
    hp.values["train.optimizer.type"] = "sgd"
    hp.values["train.optimizer.momentum"] = 0.9
    assert decode_values(dims, hp) == {"train.optimizer.type": "sgd", "train.optimizer.momentum": 0.9}


def test_grid_points_are_even_on_the_dimensions_own_scale() -> None:
    assert dim("a", log=[1e-4, 1e-2]).grid(3) == [1e-4, 1e-3, 1e-2]
    assert dim("b", one_minus_log=[0.9, 0.999]).grid(3) == [0.9, 0.99, 0.999]
    assert dim("c", uniform=[0, 1]).grid(3) == [0.0, 0.5, 1.0]
    assert dim("d", int=[1, 100], scale="log").grid(3) == [1, 10, 100]


def test_apply_values_sets_parents_first_and_list_items() -> None:
    base = {"model": {"type": "mlp", "units": [8]}, "train": {"optimizer": {"type": "adam"}}}
    out = apply_values(
        base, {"train.optimizer.momentum": 0.9, "train.optimizer": {"type": "sgd"}, "model.units.1": 4}
    )
    assert out == {
        "model": {"type": "mlp", "units": [8, 4]},
        "train": {"optimizer": {"type": "sgd", "momentum": 0.9}},
    }
    assert base["model"]["units"] == [8]  # the base is not changed


def test_narrow_log_dimension_on_its_own_scale() -> None:
    lr = dim("lr", log=[1e-4, 1e-1])
    out = narrow(lr, [1e-3, 3e-3, 2e-3], best=2e-3, margin=0.0)
    assert out.spec.log == pytest.approx((1e-3, 3e-3))
    assert out.shrink == pytest.approx(math.log10(3) / 3)
    assert out.at_bound is None
    # a 10% margin of the old width (0.3 decades) on each side, clipped to the old box
    wide = narrow(lr, [1e-3, 3e-3], best=1e-3, margin=0.1)
    assert wide.spec.log == pytest.approx((10**-3.3, 3e-3 * 10**0.3))


def test_narrow_one_minus_log_and_bound_warning() -> None:
    beta = dim("beta", one_minus_log=[0.9, 0.999])
    out = narrow(beta, [0.99, 0.999], best=0.999, margin=0.0)
    assert out.spec.one_minus_log == pytest.approx((0.99, 0.999))
    assert out.shrink == pytest.approx(0.5)
    assert out.at_bound == "upper"
    assert narrow(dim("lr", log=[1e-4, 1e-1]), [1e-4, 2e-4], best=1e-4, margin=0.1).at_bound == "lower"


def test_narrow_ints_round_outward_and_choices_keep_what_won() -> None:
    units = dim("units", int=[8, 256])
    out = narrow(units, [50, 70], best=60, margin=0.0)
    assert out.spec.int_ == (50, 70)
    sizes = dim("bs", choice=[32, 64, 128, 256])
    kept = narrow(sizes, [64, 32, 64], best=64, margin=0.0, tried=[64, 32, 64, 128, 256])
    assert kept.spec.choice == [32, 64] and kept.shrink == 0.5


def test_narrowing_a_choice_keeps_the_values_no_trial_tried() -> None:
    optimizer = dim("train.optimizer.type", choice=["adam", "sgd", "rmsprop", "adamw"])
    # the round tried adam (best) and sgd (worse); rmsprop and adamw were never drawn
    out = narrow(optimizer, ["adam"], best="adam", margin=0.0, tried=["adam", "sgd", "sgd"])
    assert out.spec.choice == ["adam", "rmsprop", "adamw"]
    assert out.shrink == 0.75
    # without the round's trials, only the best trials' values are known tried: nothing dropped
    assert narrow(optimizer, ["adam"], best="adam", margin=0.0).spec.choice == optimizer.choices


def test_narrowed_space_drops_a_conditional_dimension_whose_parent_value_is_gone() -> None:
    spec = TuneSpec.model_validate(
        {
            "space": {
                "train.optimizer.type": {"choice": ["adam", "sgd"]},
                "train.optimizer.momentum": {"uniform": [0.8, 0.99], "when": {"train.optimizer.type": "sgd"}},
            }
        }
    )
    dims = dimensions(spec)
    changes = [narrow(dims[0], ["adam"], "adam", 0.1, tried=["adam", "sgd"]), narrow(dims[1], [], None, 0.1)]
    assert list(narrowed_space(spec, changes).space) == ["train.optimizer.type"]


def test_warnings_flag_linear_learning_rate_and_linear_beta_only() -> None:
    spec = TuneSpec.model_validate({"space": {"x": {"uniform": [0, 1]}}})
    bad = [
        dim("train.optimizer.learning_rate", uniform=[1e-4, 1.0]),
        dim("train.optimizer.beta_1", uniform=[0.9, 0.999]),
    ]
    found = warnings_for(bad, spec)
    assert found[0] == (
        "train.optimizer.learning_rate: uniform [0.0001, 1] spans 4 decades on a linear scale: 90% of draws "
        "land in [0.1, 1]; use log: [0.0001, 1]"
    )
    assert found[1].startswith(
        "train.optimizer.beta_1: uniform [0.9, 0.999] is an averaging parameter near 1: only 9%"
    )
    good = [dim("train.optimizer.learning_rate", log=[1e-4, 1.0]), dim("model.dropout", uniform=[0, 0.5])]
    assert warnings_for(good, spec) == []
