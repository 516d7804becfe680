"""Per-set errors from per-example errors: the inputs of the bias/variance reading.

The caller turns a set's stored predictions into one error per example (the task registry
does it: :meth:`dlkit.tasks.Task.example_errors`): booleans (a mistake: the set's error is
a rate with a Wilson interval) or real losses (the set's error is their mean with a normal
interval). Train is measured on a fixed subsample of dev's size when it is much larger.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dlkit.analysis.bias_variance import SETS, SetError


def train_subsample(n_train: int, n_dev: int, max_ratio: float = 2.0, seed: int = 0) -> np.ndarray | None:
    """Row positions of the fixed train subsample, or None to use all of train.

    When train holds more than ``max_ratio`` times as many examples as dev, train error is
    measured on ``n_dev`` rows drawn without replacement with a fixed seed, so repeated reports
    give the same figure.
    """
    if n_dev < 1 or n_train <= max_ratio * n_dev:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=n_dev, replace=False))


def set_error(
    name: str, errors: np.ndarray, confidence: float = 0.95, n_total: int | None = None
) -> SetError:
    """A :class:`SetError` from per-example errors: boolean mistakes or real losses."""
    if errors.dtype == bool:
        n = len(errors)
        if n == 0:
            raise ValueError(f"{name}: no examples")
        return SetError.from_counts(name, int(errors.sum()), n, confidence, n_total)
    return SetError.from_losses(name, errors, confidence, n_total)


def errors_from_examples(
    errors: Mapping[str, np.ndarray],
    *,
    max_train_ratio: float = 2.0,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, SetError]:
    """The error on each set, from its per-example errors.

    Args:
        errors: per-example errors `(n,)` per set name (train and dev required; train_dev and
            test optional): booleans (mistakes) or real losses.
        max_train_ratio: subsample train to the size of dev beyond this many times dev's size.
        seed: seed of the train subsample.
        confidence: level of each set's interval.

    Returns:
        The error per set, in train, train_dev, dev, test order.
    """
    n_dev = len(errors["dev"]) if "dev" in errors else 0
    out: dict[str, SetError] = {}
    for name in SETS:
        if name not in errors:
            continue
        values = np.asarray(errors[name])
        n_total = None
        if name == "train":
            rows = train_subsample(len(values), n_dev, max_train_ratio, seed)
            if rows is not None:
                n_total, values = len(values), values[rows]
        out[name] = set_error(name, values, confidence, n_total)
    return out
