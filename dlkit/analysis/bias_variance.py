"""Avoidable bias, variance, data mismatch and overfitting to dev (docs/method.md §2).

Pure NumPy and the standard library: the inputs are error estimates per set (:class:`SetError`),
the output a :class:`DiagnoseResult` that says which gap is clearly there and what to do about it.

Every error is an estimate from a finite set, so every gap carries a confidence interval:

- classification (``kind="proportion"``): Wilson score interval for each set's error rate and
  Newcombe's hybrid score interval (Newcombe 1998, method 10) for the difference of two
  independent rates;
- regression (``kind="mean"``): a normal interval for each set's mean per-example loss, combined
  the same way (square-and-add, which for normal intervals is the Welch interval).

Avoidable bias subtracts a fixed human-level error, so its interval is the train interval
shifted by it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from dlkit._lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")

GapName = Literal["avoidable_bias", "variance", "data_mismatch", "overfitting_to_dev"]
ErrorKind = Literal["proportion", "mean"]
GapStatus = Literal["clear", "negative", "unresolved"]

SETS: tuple[str, ...] = ("train", "train_dev", "dev", "test")

GAP_LABELS: dict[str, str] = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "overfitting_to_dev": "overfitting to dev",
}

SET_LABELS: dict[str, str] = {
    "human": "human",
    "train": "train",
    "train_dev": "train-dev",
    "dev": "dev",
    "test": "test",
}

_NON_ORTHOGONAL = "avoid early stopping as the knob: it changes fit and generalisation at once"

#: What to do next, one knob per problem (docs/method.md §2, orthogonalisation).
ACTIONS: dict[str, list[str]] = {
    "avoidable_bias": [
        "bigger network (more units or layers)",
        "train longer",
        "better optimiser (momentum, RMSprop, Adam)",
        "other architecture",
        "hyperparameter search",
        _NON_ORTHOGONAL,
    ],
    "variance": [
        "more training data",
        "regularisation (L2, dropout, augmentation)",
        "batch norm",
        "other architecture",
        "hyperparameter search",
        _NON_ORTHOGONAL,
    ],
    "data_mismatch": [
        "manual error analysis of dev errors against train errors (dlkit analyze-errors)",
        "collect training data like dev",
        "synthesise data like dev (e.g. add car noise to clean speech), avoiding a narrow synthetic slice",
    ],
    "overfitting_to_dev": ["a bigger dev set"],
}

#: The reading of a gap that is clearly negative (explained, never flagged).
NEGATIVE_READINGS: dict[str, str] = {
    "avoidable_bias": (
        "training error is below human-level error: Bayes error must be lower than the human "
        "estimate, so avoidable bias cannot be measured against it"
    ),
    "variance": (
        "train-dev error is below train error: held-out examples of the training distribution are "
        "easier than train itself (small sets, or train measured with augmentation)"
    ),
    "data_mismatch": "dev is easier than the training distribution: no sign of data mismatch",
    "overfitting_to_dev": "test is easier than dev: no sign of overfitting to dev",
}


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(n_errors: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an error rate ``n_errors / n`` (no continuity correction).

    The closed form, with the normal quantile from the standard library: ``scipy.stats`` gives
    the same figures (the tests check it against ``binomtest(...).proportion_ci("wilson")``) but
    takes most of a second to import, and the whole report has a 2 s budget.

    Raises:
        ValueError: ``n`` < 1 or ``n_errors`` outside ``[0, n]``.
    """
    if n < 1 or not 0 <= n_errors <= n:
        raise ValueError(f"need 0 <= n_errors <= n and n >= 1 (got {n_errors} of {n})")
    z = _z(confidence)
    p = n_errors / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval always holds p; clamping to it only removes rounding (0 errors: low == 0.0)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def difference_interval(
    a: float, a_interval: tuple[float, float], b: float, b_interval: tuple[float, float]
) -> tuple[float, float]:
    """Interval of ``a − b`` for two independent estimates, from their own intervals.

    Square-and-add (MOVER): with Wilson intervals this is Newcombe's hybrid score interval for
    a difference of proportions; with normal intervals it is the Welch interval.

    Returns:
        ``(low, high)`` of the difference.
    """
    (la, ua), (lb, ub) = a_interval, b_interval
    d = a - b
    return d - math.hypot(a - la, ub - b), d + math.hypot(ua - a, b - lb)


@dataclass(frozen=True)
class SetError:
    """The error measured on one set, with its confidence interval.

    Attributes:
        name: train, train_dev, dev or test.
        error: the error rate (classification) or mean per-example loss (regression).
        n: examples it was measured on.
        low: lower end of its confidence interval.
        high: upper end.
        kind: ``proportion`` (binomial; Wilson interval) or ``mean`` (normal interval).
        n_errors: misclassified examples (proportions only).
        n_total: examples in the whole set, when ``n`` is a subsample of it.
    """

    name: str
    error: float
    n: int
    low: float
    high: float
    kind: ErrorKind = "proportion"
    n_errors: int | None = None
    n_total: int | None = None

    @classmethod
    def from_counts(
        cls, name: str, n_errors: int, n: int, confidence: float = 0.95, n_total: int | None = None
    ) -> SetError:
        """An error rate from a count of mistakes, with its Wilson interval."""
        low, high = wilson_interval(n_errors, n, confidence)
        return cls(name, n_errors / n, n, low, high, "proportion", int(n_errors), n_total)

    @classmethod
    def from_rate(cls, name: str, error: float, n: int, confidence: float = 0.95) -> SetError:
        """An error rate given as a fraction (rounded to a whole number of mistakes)."""
        return cls.from_counts(name, round(error * n), n, confidence)

    @classmethod
    def from_losses(
        cls, name: str, losses: np.ndarray, confidence: float = 0.95, n_total: int | None = None
    ) -> SetError:
        """A mean per-example loss `(n,)` with a normal interval (regression)."""
        losses = np.asarray(losses, dtype=np.float64)
        n = len(losses)
        if n < 2:
            raise ValueError(f"{name}: need at least 2 examples for an interval (got {n})")
        mean = float(losses.mean())
        half = _z(confidence) * float(losses.std(ddof=1)) / math.sqrt(n)
        return cls(name, mean, n, mean - half, mean + half, "mean", None, n_total)

    @property
    def interval(self) -> tuple[float, float]:
        return self.low, self.high


@dataclass(frozen=True)
class Gap:
    """One gap of docs/method.md §2: ``upper − lower`` errors.

    Attributes:
        name: avoidable_bias, variance, data_mismatch or overfitting_to_dev.
        value: the gap (negative when the later set is easier).
        low: lower end of its confidence interval.
        high: upper end.
        upper: the set whose error comes first in the formula (``train_dev`` for variance).
        lower: the set (or ``human``) subtracted from it.
        resolution: the smallest gap these set sizes can resolve: the interval's half-width.
        status: ``clear`` (interval above zero), ``negative`` (interval below zero) or
            ``unresolved`` (interval contains zero).
        flagged: one of the problems the report tells the user to work on.
        reading: one sentence on what the gap means here.
        scale_needed: for a positive gap the sets cannot resolve, about how many times larger
            the sets must be for it to be resolved; else None.
    """

    name: str
    value: float
    low: float
    high: float
    upper: str
    lower: str
    resolution: float
    status: GapStatus
    flagged: bool = False
    reading: str = ""
    scale_needed: float | None = None

    @property
    def label(self) -> str:
        return GAP_LABELS[self.name]


@dataclass
class DiagnoseResult:
    """The four gaps, which one to work on and how.

    Attributes:
        human_error: human-level error, the proxy for Bayes error.
        sets: the error on each set present, by name.
        gaps: the gaps that can be computed, in the order of docs/method.md §2.
        verdict: the largest gap that is clearly there, or None when no gap is.
        problems: the gaps to work on, largest first (the verdict, then any other clear gap at
            least ``secondary_ratio`` times its size).
        actions: what to do for each problem, verdict first (one knob per problem).
        notes: readings the user must see (no train-dev set, training error below human level,
            negative gaps, sets too small).
        variance_includes_mismatch: no train-dev set, so "variance" is dev − train and cannot
            be told apart from data mismatch.
        kind: ``proportion`` (error rates) or ``mean`` (mean per-example loss).
        confidence: the confidence level of every interval.
    """

    human_error: float
    sets: dict[str, SetError]
    gaps: list[Gap]
    verdict: str | None
    problems: list[str]
    actions: dict[str, list[str]]
    notes: list[str]
    variance_includes_mismatch: bool
    kind: ErrorKind = "proportion"
    confidence: float = 0.95

    def gap(self, name: str) -> Gap | None:
        """The gap called ``name``, or None when it cannot be computed (e.g. no test set)."""
        return next((g for g in self.gaps if g.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        out = asdict(self)
        out["sets"] = {k: asdict(v) for k, v in self.sets.items()}
        out["gaps"] = {g.name: {**asdict(g), "label": g.label} for g in self.gaps}
        return out


def _fmt(value: float, kind: ErrorKind) -> str:
    return f"{value:.2%}" if kind == "proportion" else f"{value:.4g}"


def _make_gap(
    name: str,
    upper: SetError,
    lower_name: str,
    lower_value: float,
    lower_interval: tuple[float, float],
    kind: ErrorKind,
) -> Gap:
    low, high = difference_interval(upper.error, upper.interval, lower_value, lower_interval)
    value = upper.error - lower_value
    status: GapStatus = "clear" if low > 0 else "negative" if high < 0 else "unresolved"
    resolution = (high - low) / 2
    scale = None
    if status == "unresolved" and value > 0 and (resolution / value) ** 2 <= MAX_SCALE_ADVICE:
        # half-widths shrink as 1/sqrt(n): sets this many times larger would resolve the gap
        scale = (resolution / value) ** 2
    return Gap(name, value, low, high, upper.name, lower_name, resolution, status, scale_needed=scale)


MAX_SCALE_ADVICE = 100.0  # a gap needing >100x more data is too small to chase; no advice given


def _read_gap(gap: Gap, kind: ErrorKind, no_train_dev: bool) -> str:
    f = lambda v: _fmt(v, kind)  # noqa: E731
    span = f"{f(gap.value)} (95% CI {f(gap.low)} to {f(gap.high)})"
    what = gap.label + (" + data mismatch" if no_train_dev and gap.name == "variance" else "")
    if gap.status == "clear":
        return f"{what} {span} is clearly there"
    if gap.status == "negative":
        return f"{what} {span} is negative: {NEGATIVE_READINGS[gap.name]}"
    text = (
        f"{what} {span} cannot be told apart from zero: these sets resolve gaps of about ±{f(gap.resolution)}"
    )
    if gap.scale_needed is not None and gap.scale_needed > 1:
        text += f"; sets about {gap.scale_needed:.1f}× larger would resolve a gap this size"
    return text


def diagnose_errors(
    sets: Mapping[str, SetError],
    human_error: float,
    *,
    secondary_ratio: float = 0.5,
    confidence: float = 0.95,
) -> DiagnoseResult:
    """Compute the gaps of docs/method.md §2, their intervals, the verdict and the next steps.

    Args:
        sets: error per set; ``train`` and ``dev`` are required, ``train_dev`` and ``test``
            optional. All of one kind (proportions or means).
        human_error: human-level error in the same units (a rate for classification).
        secondary_ratio: another clear gap is flagged beside the verdict when it is at least
            this fraction of the verdict's size (dlkit's rule: at 10% avoidable bias, a 9% data
            mismatch is worth working on too, a 1% variance is not yet).
        confidence: recorded on the result; the intervals come with the :class:`SetError`.

    Returns:
        The gaps with intervals, the verdict (the largest gap whose interval excludes zero, or
        None), the problems, their actions and the notes to show.

    Raises:
        ValueError: a required set is missing, kinds are mixed, or ``human_error`` < 0.
    """
    for required in ("train", "dev"):
        if required not in sets:
            raise ValueError(f"diagnosis needs a {required} error")
    unknown = set(sets) - set(SETS)
    if unknown:
        raise ValueError(f"unknown set(s) {sorted(unknown)}; expected some of {list(SETS)}")
    kinds = {s.kind for s in sets.values()}
    if len(kinds) != 1:
        raise ValueError(f"set errors mix kinds {sorted(kinds)}")
    kind: ErrorKind = kinds.pop()
    if human_error < 0 or (kind == "proportion" and human_error > 1):
        raise ValueError(f"human_error must be in [0, 1] for error rates (got {human_error})")

    train, dev = sets["train"], sets["dev"]
    train_dev, test = sets.get("train_dev"), sets.get("test")
    no_train_dev = train_dev is None
    gaps = [_make_gap("avoidable_bias", train, "human", human_error, (human_error, human_error), kind)]
    if train_dev is not None:
        gaps.append(_make_gap("variance", train_dev, "train", train.error, train.interval, kind))
        gaps.append(_make_gap("data_mismatch", dev, "train_dev", train_dev.error, train_dev.interval, kind))
    else:
        gaps.append(_make_gap("variance", dev, "train", train.error, train.interval, kind))
    if test is not None:
        gaps.append(_make_gap("overfitting_to_dev", test, "dev", dev.error, dev.interval, kind))

    clear = sorted((g for g in gaps if g.status == "clear"), key=lambda g: g.value, reverse=True)
    verdict = clear[0].name if clear else None
    problems = [g.name for g in clear if g.value >= secondary_ratio * clear[0].value] if clear else []
    gaps = [
        Gap(**{**asdict(g), "flagged": g.name in problems, "reading": _read_gap(g, kind, no_train_dev)})
        for g in gaps
    ]

    notes: list[str] = []
    if no_train_dev:
        notes.append(
            "No train-dev set: variance is taken as dev − train, so variance and data mismatch "
            "cannot be told apart (add data.split.train_dev to separate them)."
        )
    if train.n_total:
        notes.append(
            f"Train error is measured on a fixed subsample of {train.n:,} of its {train.n_total:,} "
            "examples (the size of dev), so its interval is as tight as dev's."
        )
    bias = gaps[0]
    if bias.value < 0:
        certainty = "" if bias.status == "negative" else " (within the noise of the train set)"
        notes.append(
            f"Training error {_fmt(train.error, kind)} is below human-level error "
            f"{_fmt(human_error, kind)}{certainty}: Bayes error must be lower than the human "
            "estimate, so avoidable bias cannot be measured against it and human insight helps "
            "less from here."
        )
    for g in gaps[1:]:
        if g.status == "negative":
            notes.append(f"Negative {g.label}: {NEGATIVE_READINGS[g.name]} (not a problem).")
    for g in gaps:
        if g.scale_needed is not None and g.scale_needed > 1:
            notes.append(f"Sets too small to resolve {g.label}: {_read_gap(g, kind, no_train_dev)}.")
    if verdict is None:
        notes.append("No gap is clearly there at these set sizes: nothing is flagged.")

    actions = {name: list(ACTIONS[name]) for name in problems}
    if no_train_dev and "variance" in actions:
        actions["variance"].append("add a train-dev set to tell variance from data mismatch")
    return DiagnoseResult(
        human_error=human_error,
        sets=dict(sets),
        gaps=gaps,
        verdict=verdict,
        problems=problems,
        actions=actions,
        notes=notes,
        variance_includes_mismatch=no_train_dev,
        kind=kind,
        confidence=confidence,
    )
