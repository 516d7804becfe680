"""Learning curves (METHODOLOGY §2): train and dev error against the training-set size.

The reading compares the last two points: a dev error still falling by more than its standard
error means more data is likely to help; train and dev both flat above the human line means
bias, which more data alone will not fix.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LearningCurvePoint:
    """One training on a share of the training set, measured in inference mode."""

    fraction: float
    n_train: int
    train_error: float
    dev_error: float
    n_dev: int
    run_name: str = ""


@dataclass
class LearningCurveResult:
    """Points sorted by training-set size and what they say about more data."""

    points: list[LearningCurvePoint]
    human_error: float | None
    more_data_helps: bool
    reading: str
    dev_drop: float
    dev_drop_se: float
    plot_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["points"] = [asdict(p) for p in self.points]
        return out


def _se(error: float, n: int) -> float:
    return math.sqrt(max(error * (1 - error), 1e-12) / max(n, 1))


def read_learning_curve(points: list[LearningCurvePoint], human_error: float | None) -> LearningCurveResult:
    """Say whether more data is likely to help.

    Args:
        points: at least two points, any order.
        human_error: the human-level error, or None when unknown.

    Returns:
        The sorted points and a reading. ``dev_drop`` is the fall in dev error between the two
        largest training sets; it counts as real when larger than one standard error of the
        last dev error (the dev set is the same for every point).
    """
    if len(points) < 2:
        raise ValueError("a learning curve needs at least two points")
    points = sorted(points, key=lambda p: p.n_train)
    before, last = points[-2], points[-1]
    drop = before.dev_error - last.dev_error
    se = _se(last.dev_error, last.n_dev)
    human = human_error if human_error is not None else 0.0
    gap = last.dev_error - last.train_error
    if drop > se:
        helps = True
        reading = (
            f"Dev error is still falling as the training set grows ({before.dev_error:.1%} at "
            f"{before.n_train:,} examples, {last.dev_error:.1%} at {last.n_train:,}): "
            "more data is likely to help."
        )
    elif last.train_error - human > 2 * _se(last.train_error, last.n_train) and gap <= 2 * se:
        helps = False
        reading = (
            f"Train and dev error are flat above human level ({last.train_error:.1%} and "
            f"{last.dev_error:.1%} vs {human:.1%}): the problem is bias. More data alone will not help; "
            "try a bigger network, longer training, a better optimiser or another architecture."
        )
    else:
        helps = False
        reading = (
            f"Dev error has flattened ({before.dev_error:.1%} at {before.n_train:,} examples, "
            f"{last.dev_error:.1%} at {last.n_train:,}): more data of the same kind is unlikely to help much."
        )
    return LearningCurveResult(points, human_error, helps, reading, drop, se)
