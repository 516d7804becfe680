"""Search strategies: ``tune.strategy`` -> the keras-tuner oracle that chooses a round's values.

keras-tuner's oracles do the choosing (dlkit trains each trial, :mod:`dlkit.tuning.tuner`); a
strategy says which oracle and how its arguments come from the ``tune`` section. The registry
serves the recipe's validation (:class:`~dlkit.tuning.spec.TuneSpec`), ``--strategy`` and each
round's oracle. A new strategy is one entry here. Nothing is imported from keras-tuner until an
oracle is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlkit._naming import did_you_mean
from dlkit.errors import BuildError

if TYPE_CHECKING:
    from dlkit.tuning.space import Dimension
    from dlkit.tuning.spec import TuneSpec


@dataclass(frozen=True)
class Strategy:
    """One search strategy.

    Attributes:
        name: the ``tune.strategy`` value.
        summary: one line for help texts.
        oracle: ``(keras_tuner.oracles, tune spec, train epochs, common oracle arguments) -> Oracle``.
        grid: continuous dimensions are searched at ``tune.grid_points`` values each.
    """

    name: str
    summary: str
    oracle: Callable[[Any, TuneSpec, int, dict[str, Any]], Any]
    grid: bool = False


class Strategies:
    """Strategy name -> :class:`Strategy`."""

    family = "search strategy"

    def __init__(self) -> None:
        self._entries: dict[str, Strategy] = {}

    def register(self, strategy: Strategy) -> Strategy:
        """Add ``strategy``; a second registration of one name is a programming error."""
        if strategy.name in self._entries:
            raise ValueError(f"{self.family} '{strategy.name}' is registered twice")
        self._entries[strategy.name] = strategy
        return strategy

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def available(self, name: str) -> str:
        """``Available: bayesian, grid, hyperband, random. Did you mean 'random'?`` for ``name``."""
        return f"Available: {', '.join(self.names())}.{did_you_mean(name, self.names())}"

    def unknown_message(self, name: str) -> str:
        """``Unknown search strategy 'rnadom'. Available: bayesian, ... Did you mean 'random'?``."""
        return f"Unknown {self.family} '{name}'. {self.available(name)}"

    def get(self, name: str) -> Strategy:
        """The strategy called ``name``.

        Raises:
            BuildError: no such strategy (with a did-you-mean).
        """
        try:
            return self._entries[name]
        except KeyError:
            raise BuildError(self.unknown_message(name)) from None


def _random(oracles: Any, spec: TuneSpec, train_epochs: int, common: dict[str, Any]) -> Any:
    return oracles.RandomSearchOracle(max_trials=spec.trials, **common)


def _grid(oracles: Any, spec: TuneSpec, train_epochs: int, common: dict[str, Any]) -> Any:
    return oracles.GridSearchOracle(max_trials=spec.trials, **common)


def _bayesian(oracles: Any, spec: TuneSpec, train_epochs: int, common: dict[str, Any]) -> Any:
    return oracles.BayesianOptimizationOracle(max_trials=spec.trials, **common)


def _hyperband(oracles: Any, spec: TuneSpec, train_epochs: int, common: dict[str, Any]) -> Any:
    return oracles.HyperbandOracle(
        max_epochs=spec.hyperband.max_epochs or train_epochs,
        factor=spec.hyperband.factor,
        hyperband_iterations=spec.hyperband.iterations,
        **common,
    )


STRATEGIES = Strategies()
STRATEGIES.register(Strategy("random", "Random draws from each dimension, on its own scale.", _random))
STRATEGIES.register(
    Strategy("grid", "Every combination; continuous dimensions at grid_points values.", _grid, grid=True)
)
STRATEGIES.register(Strategy("bayesian", "Gaussian-process Bayesian optimisation.", _bayesian))
STRATEGIES.register(
    Strategy("hyperband", "Many short trials; the best are trained longer (tune.hyperband).", _hyperband)
)


def make_oracle(
    spec: TuneSpec,
    dims: list[Dimension],
    *,
    objective: str,
    direction: str,
    seed: int,
    train_epochs: int,
) -> Any:
    """keras-tuner's oracle for one round: ``spec.strategy``'s, over ``dims``.

    Args:
        spec: the round's tune section.
        dims: the round's dimensions.
        objective: the trial metric to optimise, e.g. ``dev_accuracy``.
        direction: ``max`` or ``min``.
        seed: the round's sampling seed.
        train_epochs: the recipe's ``train.epochs`` (Hyperband's default budget).

    Raises:
        BuildError: ``spec.strategy`` is not registered.
    """
    import keras_tuner

    from dlkit.tuning.space import add_to_hyperparameters

    strategy = STRATEGIES.get(spec.strategy)
    hp = keras_tuner.HyperParameters()
    add_to_hyperparameters(hp, dims, spec.grid_points if strategy.grid else None)
    common: dict[str, Any] = {
        "objective": keras_tuner.Objective(objective, direction),
        "hyperparameters": hp,
        "allow_new_entries": False,
        "tune_new_entries": False,
        # keras-tuner replaces a falsy seed with a random one (Oracle: `seed or random.randint`),
        # so seed 0, the recipe default, would sample differently on every run
        "seed": seed if seed != 0 else 2**31 - 1,
        "max_retries_per_trial": 0,
        # dlkit counts failures itself (tune.max_failures, over the whole study)
        "max_consecutive_failed_trials": 10**9,
    }
    return strategy.oracle(keras_tuner.oracles, spec, train_epochs, common)
