"""Learning-rate range test: train on mini-batches while the rate grows log-uniformly, and read
where the loss falls fastest and where it blows up.

The loss per step is noisy, so it is smoothed with an exponentially weighted average with bias
correction (docs/method.md §6: v_t = β v_{t−1} + (1 − β) θ_t, read as v_t / (1 − β^t)), averaging
over about a tenth of the steps (1/(1 − β) = steps / 10, β within 0.8 to 0.98). The test stops
once the smoothed loss exceeds ``DIVERGE_FACTOR`` times its best.

Reading (pure, testable): ``min_loss_lr`` is the rate at the smoothed loss's minimum,
``steepest_lr`` the rate where it falls fastest against log(rate) before that minimum (after the
first tenth of the steps, where the average is still settling). The range
suggested for a log-scale search is ``[min_loss_lr / 1000, min_loss_lr / 10]``: one tenth of the
minimum is the usual largest safe rate (the loss is lowest where training is already unstable),
and three decades below it leave room for coarse-to-fine search.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

DIVERGE_FACTOR = 4.0


def smoothing_for(steps: int) -> float:
    """β averaging over about a tenth of the steps, within 0.8 to 0.98."""
    return min(0.98, max(0.8, 1 - 10 / steps))


def log_rates(min_lr: float, max_lr: float, steps: int) -> np.ndarray:
    """``steps`` rates from ``min_lr`` to ``max_lr``, evenly spaced on a log scale."""
    return np.geomspace(min_lr, max_lr, steps)


def smooth(values: list[float], beta: float) -> list[float]:
    """Bias-corrected exponentially weighted average of ``values``."""
    out, v = [], 0.0
    for t, value in enumerate(values, start=1):
        v = beta * v + (1 - beta) * value
        out.append(v / (1 - beta**t))
    return out


@dataclass
class LRFindResult:
    """Rates tried, raw and smoothed losses, and the reading."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    min_loss_lr: float
    steepest_lr: float
    suggested: tuple[float, float]
    diverged_at: float | None = None
    plot_path: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_range_test(
    lrs: list[float], losses: list[float], diverged_at: float | None = None, *, beta: float | None = None
) -> LRFindResult:
    """The reading of a range test (rates and raw losses per step, in order).

    Args:
        lrs: the rate of each step.
        losses: the training loss of each step.
        diverged_at: the rate where the test stopped because the loss blew up.
        beta: smoothing; :func:`smoothing_for` the planned number of steps when None.
    """
    beta = smoothing_for(len(lrs)) if beta is None else beta
    finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
    lrs = [lrs[i] for i in finite]
    losses = [losses[i] for i in finite]
    smoothed = smooth(losses, beta)
    best = int(np.argmin(smoothed))
    min_loss_lr = lrs[best]
    notes = []
    skip = max(1, len(lrs) // 10)
    if best - skip >= 2:
        window = slice(skip, best + 1)
        slopes = np.gradient(np.asarray(smoothed[window]), np.log(np.asarray(lrs[window])))
        steepest_lr = lrs[skip + int(np.argmin(slopes))]
    else:
        steepest_lr = min_loss_lr
        notes.append("the loss was lowest at the smallest rates tried: lower --min-lr")
    if best == len(smoothed) - 1 and diverged_at is None:
        notes.append("the loss was still falling at the largest rate tried: raise --max-lr")
    return LRFindResult(
        lrs=lrs,
        losses=losses,
        smoothed=smoothed,
        min_loss_lr=min_loss_lr,
        steepest_lr=steepest_lr,
        suggested=(min_loss_lr / 1000, min_loss_lr / 10),
        diverged_at=diverged_at,
        notes=notes,
    )


def range_test(
    model: Any,
    batches: Any,
    *,
    min_lr: float,
    max_lr: float,
    steps: int,
) -> tuple[list[float], list[float], float | None]:
    """Train ``model`` (compiled) for ``steps`` batches, the rate rising log-uniformly.

    Returns:
        The rates and raw training losses per step, and the rate where the smoothed loss
        passed ``DIVERGE_FACTOR`` times its best (None if it never did).
    """
    rates = log_rates(min_lr, max_lr, steps)
    beta = smoothing_for(steps)
    lrs: list[float] = []
    losses: list[float] = []
    iterator = iter(batches)
    for rate in rates:
        model.optimizer.learning_rate = float(rate)
        x, y = next(iterator)
        logs = model.train_on_batch(x, y, return_dict=True)
        loss = float(logs["loss"])
        lrs.append(float(rate))
        losses.append(loss)
        if not math.isfinite(loss):
            return lrs, losses, float(rate)
        current = smooth(losses, beta)
        if len(current) > 1 and current[-1] > DIVERGE_FACTOR * min(current):
            return lrs, losses, float(rate)
    return lrs, losses, None


def lr_find_recipe(recipe: Any, outcome: Any, *, min_lr: float, max_lr: float, steps: int) -> LRFindResult:
    """Range test of the recipe's model, built and fed by the one pipeline, on its training set.

    The model is built and compiled as training builds it (the optimizer's other settings
    kept); each step trains one mini-batch of the epoch-keyed stream at the next rate.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.training.fit import build_training_state
    from dlkit.training.pipeline import batch_size, build_model, training_data
    from dlkit.training.runtime import training_runtime
    from dlkit.training.stream import steps_per_epoch

    data, parts = outcome.data, outcome.split
    train, dev = parts.indices("train"), parts.indices("dev")
    spec = recipe.train.model_copy(deep=True)
    per_epoch = steps_per_epoch(len(train), batch_size(spec, len(train)))
    spec.epochs = -(-steps // per_epoch)  # enough epochs of batches for every step
    with training_runtime(spec, recipe.seed) as runtime:
        model = build_model(recipe, data, train, runtime)
        stream, _, _ = training_data(spec, data, train, dev, recipe.seed)
        build_training_state(model, stream)  # one trace of the step, as in training
        lrs, losses, diverged = range_test(model, stream, min_lr=min_lr, max_lr=max_lr, steps=steps)
    return read_range_test(lrs, losses, diverged, beta=smoothing_for(steps))


__all__ = [
    "LRFindResult",
    "log_rates",
    "lr_find_recipe",
    "range_test",
    "read_range_test",
    "smooth",
    "smoothing_for",
]
