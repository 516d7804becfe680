"""The recipe's ``tune`` section: the search space and how to search it (docs/method.md §5).

Each entry of ``space`` maps a dotted recipe path to one distribution::

    tune:
      strategy: random
      trials: 30
      space:
        train.optimizer.learning_rate: {log: [1.0e-4, 1.0e-1]}
        train.optimizer.beta_1: {one_minus_log: [0.9, 0.999]}
        model.units.0: {int: [32, 256]}
        model.dropout: {uniform: [0.0, 0.5]}
        train.batch_size: {int: [32, 512], scale: log}
        train.optimizer.type: {choice: [adam, sgd]}
        train.optimizer.momentum: {uniform: [0.8, 0.99], when: {train.optimizer.type: sgd}}
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator, model_validator

from dlkit._spec import Spec
from dlkit.tuning.strategies import STRATEGIES

DISTRIBUTIONS = ("uniform", "log", "one_minus_log", "int", "choice")
_STRATEGY_NAMES: list[JsonValue] = [*STRATEGIES.names()]


class DimensionSpec(Spec):
    """One searched recipe value: exactly one of uniform, log, one_minus_log, int or choice."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, serialize_by_alias=True)

    uniform: tuple[float, float] | None = Field(default=None, description="[a, b] sampled linearly.")
    log: tuple[float, float] | None = Field(
        default=None, description="[a, b], 0 < a < b, sampled uniformly in log10 (learning rates)."
    )
    one_minus_log: tuple[float, float] | None = Field(
        default=None,
        description="[a, b] in [0, 1): 1 - x sampled uniformly in log10 (averaging parameters β).",
    )
    int_: tuple[int, int] | None = Field(
        default=None, alias="int", description="[a, b] integers, on the scale given by `scale`."
    )
    scale: Literal["linear", "log"] = Field(default="linear", description="Scale of an int dimension.")
    choice: list[Any] | None = Field(default=None, description="A list of values (scalars or mappings).")
    when: dict[str, Any] | None = Field(
        default=None,
        description="Only searched when another (choice) dimension takes this value or one of these values, "
        "e.g. {train.optimizer.type: sgd}.",
    )

    @model_validator(mode="after")
    def _one_distribution(self) -> DimensionSpec:
        given = [name for name in DISTRIBUTIONS if self.bounds_or_values(name) is not None]
        if len(given) != 1:
            got = ", ".join(given) if given else "none"
            raise ValueError(f"expected exactly one of {', '.join(DISTRIBUTIONS)} (got {got})")
        kind = given[0]
        if kind == "choice":
            values = self.choice or []
            if not values:
                raise ValueError("choice: expected at least one value")
            if len({repr(v) for v in values}) != len(values):
                raise ValueError(f"choice: values must be distinct (got {values})")
        else:
            a, b = self.bounds_or_values(kind)  # type: ignore[misc]
            if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
                raise ValueError(f"{kind}: expected [a, b] with a < b (got [{a:g}, {b:g}])")
            if kind == "log" and a <= 0:
                raise ValueError(
                    f"log: bounds are values, not exponents, and must be > 0 (got [{a:g}, {b:g}]); "
                    f"for 10^-4 to 10^-1 write [1.0e-4, 1.0e-1]"
                )
            if kind == "one_minus_log" and not (a >= 0 and b < 1):
                raise ValueError(f"one_minus_log: expected 0 <= a < b < 1 (got [{a:g}, {b:g}])")
            if kind == "int" and self.scale == "log" and a < 1:
                raise ValueError(f"int on a log scale: expected a >= 1 (got [{a}, {b}])")
        if self.scale == "log" and kind != "int":
            raise ValueError(f"scale applies to int dimensions only (use log: [a, b] instead of {kind})")
        return self

    def bounds_or_values(self, kind: str) -> Any:
        """The bounds (or the choice's values) given for ``kind``, or None."""
        return self.int_ if kind == "int" else getattr(self, kind)

    @property
    def kind(self) -> str:
        """Which distribution: uniform, log, one_minus_log, int or choice."""
        return next(name for name in DISTRIBUTIONS if self.bounds_or_values(name) is not None)


class HyperbandSpec(Spec):
    """Hyperband's budget: the most epochs one trial may train, and the culling factor."""

    max_epochs: int | None = Field(default=None, ge=1, description="Defaults to train.epochs.")
    factor: int = Field(default=3, ge=2, description="Keep 1/factor of the trials at each rung.")
    iterations: int = Field(default=1, ge=1, description="Times the whole Hyperband algorithm runs.")


class TuneSpec(Spec):
    """How ``dlkit tune`` searches: strategy, budget, coarse-to-fine rounds, failure budget."""

    strategy: str = Field(
        default="random",
        description="A registered search strategy: " + ", ".join(STRATEGIES.names()) + ".",
        json_schema_extra={"enum": _STRATEGY_NAMES},
    )
    trials: int = Field(default=20, ge=1, description="Trials per round (grid: at most this many).")
    rounds: int = Field(default=1, ge=1, description="Coarse-to-fine rounds (each narrows the space).")
    refine_top: int = Field(
        default=5, ge=1, description="Best feasible trials whose span sets the next round's box."
    )
    refine_margin: float = Field(
        default=0.1, ge=0, le=1, description="Margin added on each side of that span, as a share of the box."
    )
    max_failures: int = Field(
        default=5, ge=0, description="Failed trials (NaN loss, build errors) tolerated before stopping."
    )
    grid_points: int = Field(default=3, ge=2, description="Grid: points per continuous dimension.")
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Sampling seed; the recipe's seed when absent."
    )
    hyperband: HyperbandSpec = Field(default_factory=HyperbandSpec)
    isolation: Literal["none", "process"] = Field(
        default="none",
        description="Where trials train: none (in the study's process; its memory stays flat) or process "
        "(in a worker subprocess, replaced every recycle_every trials; costs a TensorFlow start per worker).",
    )
    recycle_every: int = Field(
        default=10, ge=1, description="With isolation: process, trials per worker process before a fresh one."
    )
    space: dict[str, DimensionSpec] = Field(min_length=1, description="Dotted recipe path -> distribution.")

    @field_validator("strategy")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in STRATEGIES:
            # the recipe error adds "(got 'name')"
            raise ValueError(f"unknown {STRATEGIES.family}. {STRATEGIES.available(name)}")
        return name
