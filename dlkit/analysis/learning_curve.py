"""Learning curves (docs/method.md §2): train and dev error against the training-set size.

Pure Python: what each point's training budget is, and what the measured curve says.

**Budget.** A point trained on 10% of train with the recipe's epochs takes a tenth of the
optimizer steps: the curve would then measure under-training, not data. Every point is given
the optimizer steps of the full run instead (the recipe's ``train.epochs`` times the full
training set's batches per epoch): its epochs are scaled by ``full batches / point batches``,
about ``1 / fraction``. The full run's budget is what the user judged enough to fit the whole
training set, and a subset needs no more steps than that to be fitted. The scale is capped at
``max_epoch_scale`` (10 by default, so the usual fractions from 0.1 up are never capped):
every epoch also evaluates the whole dev set, so a 1% point at 100x the epochs would spend
most of its time on dev. A capped point gets fewer steps than the full run, and says so.

**Reading.** It agrees with ``dlkit diagnose`` by construction: the gaps of the largest point
are the gaps of docs/method.md §2 (:func:`~dlkit.analysis.bias_variance.diagnose_errors`, the
same intervals and verdict). More data is advised only when variance is the verdict (the
largest gap that is clearly there) *and* dev error is still falling between the two largest
points by more than one standard error of the last dev error. Avoidable bias, data mismatch
or overfitting to dev as the verdict means more data of the same kind is not the knob.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from statistics import NormalDist
from typing import Any

from dlkit.analysis.bias_variance import DiagnoseResult, SetError, diagnose_errors

#: Most a point's epochs are multiplied by to give it the full run's optimizer steps.
MAX_EPOCH_SCALE = 10.0


@dataclass(frozen=True)
class LearningCurvePoint:
    """One training on a share of the training set, measured in inference mode.

    Attributes:
        fraction: share of the training set trained on.
        n_train: examples trained on.
        train_error: error on those examples.
        dev_error: error on dev (the same dev set for every point).
        n_dev: dev examples.
        run_name: the run that measured the point.
        train_dev_error: error on train-dev, when the split has one.
        n_train_dev: train-dev examples.
        epochs: epochs the point was given (its budget).
        epochs_run: epochs it ran (fewer when early stopping stopped it).
        steps: optimizer steps it ran (``epochs_run`` x batches per epoch).
        retrained: False for the finished run itself (the full training set, not retrained).
    """

    fraction: float
    n_train: int
    train_error: float
    dev_error: float
    n_dev: int
    run_name: str = ""
    train_dev_error: float | None = None
    n_train_dev: int | None = None
    epochs: int | None = None
    epochs_run: int | None = None
    steps: int | None = None
    retrained: bool = True


@dataclass(frozen=True)
class PointBudget:
    """What one point is given before it trains.

    Attributes:
        fraction: share of the training set.
        n_train: examples it will train on (the split's rounding of ``fraction`` x train).
        epochs: epochs it is given.
        steps_per_epoch: mini-batches per epoch on ``n_train`` examples.
        scale: ``epochs`` / the recipe's epochs.
        capped: the scale hit ``max_epoch_scale``, so it gets fewer steps than the full run.
    """

    fraction: float
    n_train: int
    epochs: int
    steps_per_epoch: int
    scale: float
    capped: bool

    @property
    def steps(self) -> int:
        """Optimizer steps it is given."""
        return self.epochs * self.steps_per_epoch


@dataclass(frozen=True)
class PointStart:
    """Reported before each point trains (or is read from the finished run)."""

    index: int  # 1-based
    total: int
    budget: PointBudget
    retrained: bool


@dataclass(frozen=True)
class PointEnd:
    """Reported after each point is measured."""

    index: int  # 1-based
    total: int
    point: LearningCurvePoint
    duration_s: float


@dataclass
class LearningCurveResult:
    """Points sorted by training-set size and what they say about more data.

    Attributes:
        points: the points, smallest training set first.
        human_error: the human-level line, or None when unknown.
        more_data_helps: variance is the verdict and dev error is still falling.
        reading: what the curve says, in one paragraph.
        dev_drop: fall in dev error between the two largest training sets.
        dev_drop_se: one standard error of the last dev error (the bar ``dev_drop`` must clear).
        verdict: the largest gap clearly there at the largest point (as ``dlkit diagnose``
            reads it), or None.
        gaps: every gap at the largest point, by name.
        variance_includes_mismatch: no train-dev set, so variance is dev − train.
        kind: ``proportion`` (error rates) or ``mean`` (mean per-example loss).
        budget: how the points' training budgets were chosen.
        notes: anything the reader must know (capped points, no human-level error).
        plot_path: the PNG, once drawn.
    """

    points: list[LearningCurvePoint]
    human_error: float | None
    more_data_helps: bool
    reading: str
    dev_drop: float
    dev_drop_se: float
    verdict: str | None = None
    gaps: dict[str, float] = field(default_factory=dict)
    variance_includes_mismatch: bool = True
    kind: str = "proportion"
    budget: str = ""
    notes: list[str] = field(default_factory=list)
    plot_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what ``reports/learning_curve.json`` holds)."""
        out = asdict(self)
        out["points"] = [asdict(p) for p in self.points]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearningCurveResult:
        """The inverse of :meth:`to_dict`; keys this version does not know are ignored."""
        known = {f.name for f in fields(LearningCurvePoint)}
        points = [LearningCurvePoint(**{k: v for k, v in p.items() if k in known}) for p in data["points"]]
        keys = {f.name for f in fields(cls)} - {"points"}
        return cls(points=points, **{k: v for k, v in data.items() if k in keys})


def _steps_per_epoch(n: int, batch_size: int, full_batch: bool) -> int:
    return 1 if full_batch else max(1, math.ceil(n / batch_size))


def subsample_size(n_train: int, fraction: float) -> int:
    """Examples a ``fraction`` of ``n_train`` keeps, as the split counts them (at least one).

    The split divides train into kept and unused by largest remainders (a tie goes to train):
    ``fraction · n`` rounded, halves up, up to floating-point ties.
    """
    raw = {"train": n_train * fraction, "unused": n_train * (1 - fraction)}
    counts = {k: math.floor(v) for k, v in raw.items()}
    leftover = n_train - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:leftover]:
        counts[k] += 1
    return max(1, counts["train"])


def plan_budgets(
    fractions: Iterable[float],
    n_train: int,
    epochs: int,
    batch_size: int,
    *,
    full_batch: bool = False,
    max_epoch_scale: float = MAX_EPOCH_SCALE,
) -> list[PointBudget]:
    """Give every point the optimizer steps of the full run (see the module docstring).

    Args:
        fractions: shares of the training set, each in (0, 1].
        n_train: examples in the full training set.
        epochs: the recipe's ``train.epochs``.
        batch_size: the recipe's mini-batch size.
        full_batch: one batch of the whole training set per step (equal steps = equal epochs).
        max_epoch_scale: most a point's epochs are multiplied by.

    Returns:
        One budget per distinct fraction, smallest first. A point's epochs are the fewest that
        reach the full run's steps (``ceil(epochs · full batches / point batches)``), so it
        gets at least those steps and less than one epoch more, unless capped.

    Raises:
        ValueError: a fraction outside (0, 1], ``max_epoch_scale`` < 1, or sizes < 1.
    """
    shares = sorted(set(fractions))
    if not shares or any(not 0 < f <= 1 for f in shares):
        raise ValueError(f"fractions must be in (0, 1] (got {shares})")
    if max_epoch_scale < 1:
        raise ValueError(f"max_epoch_scale must be >= 1 (got {max_epoch_scale:g})")
    if n_train < 1 or epochs < 1 or batch_size < 1:
        raise ValueError(f"need n_train, epochs and batch_size >= 1 (got {n_train}, {epochs}, {batch_size})")
    full_steps = epochs * _steps_per_epoch(n_train, batch_size, full_batch)
    cap = max(epochs, math.floor(epochs * max_epoch_scale))
    budgets = []
    for fraction in shares:
        n = subsample_size(n_train, fraction)
        per_epoch = _steps_per_epoch(n, batch_size, full_batch)
        wanted = math.ceil(full_steps / per_epoch)
        given = min(wanted, cap)
        budgets.append(PointBudget(fraction, n, given, per_epoch, given / epochs, wanted > cap))
    return budgets


def describe_budget(budgets: list[PointBudget], epochs: int, full_steps: int, max_epoch_scale: float) -> str:
    """One paragraph on how the points' budgets were chosen (for the reports)."""
    text = (
        f"Every point is given the optimizer steps of the full run ({full_steps:,}: {epochs} epochs "
        "of the whole training set), so that a smaller training set is not also a shorter training: "
        "its epochs are scaled by about 1 / share of train"
    )
    capped = [b for b in budgets if b.capped]
    if not capped:
        return text + f" (capped at {max_epoch_scale:g}x the epochs; no point needed more)."
    shares = ", ".join(f"{b.fraction:.0%} ({b.steps / full_steps:.0%} of the steps)" for b in capped)
    return (
        text + f", capped at {max_epoch_scale:g}x the epochs (every epoch also evaluates dev). "
        f"Capped, so given fewer steps than the full run: {shares}; their errors may overstate "
        "what that much data can do."
    )


def _se(error: float, n: int) -> float:
    return math.sqrt(max(error * (1 - error), 1e-12) / max(n, 1))


def diagnose_point(point: LearningCurvePoint, human_error: float) -> DiagnoseResult:
    """The gaps of docs/method.md §2 at one point, from its error rates and set sizes.

    Raises:
        ValueError: an error outside [0, 1] (a loss, not a rate: pass the run's diagnosis).
    """
    sets = {"train": (point.train_error, point.n_train), "dev": (point.dev_error, point.n_dev)}
    if point.train_dev_error is not None and point.n_train_dev:
        sets["train_dev"] = (point.train_dev_error, point.n_train_dev)
    if any(not 0 <= e <= 1 for e, _ in sets.values()):
        raise ValueError("errors are not rates in [0, 1]: pass the diagnosis of the largest point")
    return diagnose_errors({k: SetError.from_rate(k, e, n) for k, (e, n) in sets.items()}, human_error)


def _fmt(value: float, kind: str) -> str:
    return f"{value:.1%}" if kind == "proportion" else f"{value:.4g}"


def read_learning_curve(
    points: list[LearningCurvePoint],
    human_error: float | None,
    *,
    diagnosis: DiagnoseResult | None = None,
) -> LearningCurveResult:
    """Say whether more data is likely to help, in agreement with the diagnosis.

    Args:
        points: at least two points, any order.
        human_error: the human-level error, or None when unknown (avoidable bias is then
            measured against 0, and the result says so).
        diagnosis: the gaps at the largest point as ``dlkit diagnose`` computes them from its
            stored predictions; computed here from the point's error rates when None.

    Returns:
        The sorted points and a reading. ``dev_drop`` is the fall in dev error between the two
        largest training sets; it counts as real when larger than one standard error of the
        last dev error (the dev set is the same for every point). More data is advised only
        when variance is the verdict at the largest point and dev error is still falling.

    Raises:
        ValueError: fewer than two points.
    """
    if len(points) < 2:
        raise ValueError("a learning curve needs at least two points")
    points = sorted(points, key=lambda p: (p.n_train, p.fraction))
    before, last = points[-2], points[-1]
    notes: list[str] = []
    if diagnosis is None:
        if human_error is None:
            notes.append("No human-level error given: avoidable bias is measured against 0.")
        diagnosis = diagnose_point(last, human_error if human_error is not None else 0.0)
    kind = diagnosis.kind
    f = lambda v: _fmt(v, kind)  # noqa: E731
    drop = before.dev_error - last.dev_error
    se = _se(last.dev_error, last.n_dev) if kind == "proportion" else _mean_se(diagnosis)
    falling = drop > se
    trend = f"{f(before.dev_error)} at {before.n_train:,} examples, {f(last.dev_error)} at {last.n_train:,}"
    verdict = diagnosis.verdict
    gap = diagnosis.gap(verdict) if verdict else None
    size = f"at {last.n_train:,} examples"
    helps = falling and verdict == "variance"
    what = "dev − train" if diagnosis.variance_includes_mismatch else "train-dev − train"
    also = diagnosis.problems[1:]  # diagnose's "then ...": other gaps at least half the verdict's
    if verdict == "variance" and gap is not None:
        if falling:
            reading = (
                f"Variance is the largest gap {size} ({what} {f(gap.value)}) and dev error is still "
                f"falling as the training set grows ({trend}): more data is likely to help."
            )
            if diagnosis.variance_includes_mismatch:
                reading += (
                    " Without a train-dev set, part of that gap may be data mismatch, which more data "
                    "of the training distribution does not fix."
                )
        else:
            reading = (
                f"Variance is the largest gap {size} ({what} {f(gap.value)}), but dev error has "
                f"flattened ({trend}): more data of the same kind is unlikely to help much; try "
                "regularisation (L2, dropout, augmentation) or another architecture."
            )
        bias = diagnosis.gap("avoidable_bias")
        if "avoidable_bias" in also and bias is not None:
            reading += f" Avoidable bias ({f(bias.value)}) is a problem too, which more data will not fix."
    elif verdict == "avoidable_bias" and gap is not None:
        shape = "still falling" if falling else "flat"
        train = f(diagnosis.sets["train"].error)
        reading = (
            f"Avoidable bias is the largest gap {size}: train error {train} against human "
            f"level {f(diagnosis.human_error)} (dev error {shape}: {trend}). The problem is bias: more "
            "data alone will not help; try a bigger network, longer training, a better optimiser or "
            "another architecture."
        )
        variance = diagnosis.gap("variance")
        if "variance" in also and variance is not None and falling:
            reading += (
                f" Variance ({what} {f(variance.value)}) is a problem too and dev error is still "
                "falling: more data is likely to help with that part, after bias."
            )
    elif verdict == "data_mismatch" and gap is not None:
        reading = (
            f"Data mismatch is the largest gap {size} (dev − train-dev {f(gap.value)}): more data of "
            "the training distribution will not help; collect or synthesise data like dev."
        )
    elif verdict == "overfitting_to_dev" and gap is not None:
        reading = (
            f"Overfitting to dev is the largest gap {size} (test − dev {f(gap.value)}): get a bigger "
            "dev set; more training data is not the knob."
        )
    elif falling:
        reading = (
            f"Dev error is still falling ({trend}), but no gap is clearly there {size}: the sets are "
            "too small to say that more data, rather than anything else, is what is needed."
        )
    else:
        reading = (
            f"Dev error has flattened ({trend}) and no gap is clearly there {size}: more data of the "
            "same kind is unlikely to help much."
        )
    return LearningCurveResult(
        points=points,
        human_error=human_error,
        more_data_helps=helps,
        reading=reading,
        dev_drop=drop,
        dev_drop_se=se,
        verdict=verdict,
        gaps={g.name: g.value for g in diagnosis.gaps},
        variance_includes_mismatch=diagnosis.variance_includes_mismatch,
        kind=kind,
        notes=notes,
    )


def _mean_se(diagnosis: DiagnoseResult) -> float:
    """One standard error of the dev mean loss, from its (normal) interval."""
    dev = diagnosis.sets["dev"]
    return (dev.high - dev.low) / 2 / NormalDist().inv_cdf(0.5 + diagnosis.confidence / 2)
