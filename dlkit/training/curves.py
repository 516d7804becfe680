"""Training-curve checks: read the per-epoch history and say what looks wrong (and what to do).

Pure Python on the history rows (Keras's logs per epoch: ``loss``, ``val_loss``, ``lr``), so
every rule is testable with planted curves. Thresholds are module constants, documented here:

- **non_finite_loss**: the training loss became NaN or infinite (training stops at that batch).
- **exploding_loss**: an epoch's loss is more than ``EXPLODE_FACTOR`` times the lowest loss
  before it, or more than ``EXPLODE_OVER_START`` times the first epoch's loss.
- **flat_loss**: over at least ``FLAT_MIN_EPOCHS`` epochs the loss stayed within
  ``FLAT_TOLERANCE`` (relative) of the first epoch's, and the first epoch's loss was no
  better than a constant predictor's (when that reference is known): nothing was learnt.
- **overfitting**: dev loss rose by more than ``OVERFIT_RISE`` (relative) over at least
  ``OVERFIT_EPOCHS`` epochs after its minimum while the training loss kept falling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

EXPLODE_FACTOR = 10.0
EXPLODE_OVER_START = 2.0
FLAT_MIN_EPOCHS = 3
FLAT_TOLERANCE = 0.01
FLAT_BASELINE_SHARE = 0.9
OVERFIT_EPOCHS = 3
OVERFIT_RISE = 0.02


@dataclass(frozen=True)
class CurveWarning:
    """One finding: a code, the epoch (1-based) where it shows, what was seen, what to do."""

    code: str
    epoch: int | None
    message: str
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.message}. {self.advice}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def check_curves(
    history: list[dict[str, float]],
    *,
    baseline_loss: float | None = None,
    diverged_epoch: int | None = None,
) -> list[CurveWarning]:
    """Findings on a training history, in the order above.

    Args:
        history: one dict per epoch (Keras's logs plus ``lr``).
        baseline_loss: a constant predictor's loss, to tell "flat" from "already converged".
        diverged_epoch: 1-based epoch where the loss became NaN/inf (training stopped there).
    """
    found: list[CurveWarning] = []
    losses = [float(h["loss"]) for h in history if "loss" in h]
    if diverged_epoch is not None or any(not math.isfinite(v) for v in losses):
        epoch = diverged_epoch or next(i + 1 for i, v in enumerate(losses) if not math.isfinite(v))
        lr = history[epoch - 1].get("lr") if 0 < epoch <= len(history) else None
        at = f" (learning rate {_fmt(lr)})" if lr is not None else ""
        found.append(
            CurveWarning(
                "non_finite_loss",
                epoch,
                f"training loss became NaN or infinite in epoch {epoch}{at}; training stopped",
                "Lower train.optimizer.learning_rate (e.g. by 10x) or clip gradients "
                "(train.optimizer.clipnorm: 1.0).",
            )
        )
        return found
    for e in range(1, len(losses)):
        lowest = min(losses[:e])
        if losses[e] > EXPLODE_FACTOR * lowest or losses[e] > EXPLODE_OVER_START * losses[0]:
            found.append(
                CurveWarning(
                    "exploding_loss",
                    e + 1,
                    f"training loss exploded in epoch {e + 1}: {_fmt(losses[e])}, "
                    f"against {_fmt(lowest)} at best before",
                    "Lower the learning rate or clip gradients (train.optimizer.clipnorm).",
                )
            )
            break
    flat = all(abs(v - losses[0]) <= FLAT_TOLERANCE * abs(losses[0]) for v in losses)
    if len(losses) >= FLAT_MIN_EPOCHS and flat:
        reference_ok = baseline_loss is None or losses[0] >= FLAT_BASELINE_SHARE * baseline_loss
        if reference_ok:
            ref = f" (a constant predictor scores {_fmt(baseline_loss)})" if baseline_loss is not None else ""
            found.append(
                CurveWarning(
                    "flat_loss",
                    1,
                    f"training loss flat from the start: {_fmt(losses[0])} in epoch 1, "
                    f"{_fmt(losses[-1])} in epoch {len(losses)}{ref}",
                    "Vanishing gradients or a learning rate far too small: try a larger learning rate, "
                    "He initialisation with ReLU, batch norm, or a shallower network.",
                )
            )
    dev = [h.get("val_loss") for h in history]
    if len(losses) == len(dev) and all(v is not None and math.isfinite(v) for v in dev):
        dev_losses = [float(v) for v in dev]  # type: ignore[arg-type]
        best = int(np.argmin(dev_losses))
        last = len(dev_losses) - 1
        if (
            last - best >= OVERFIT_EPOCHS
            and dev_losses[last] > (1 + OVERFIT_RISE) * dev_losses[best]
            and losses[last] < losses[best]
        ):
            found.append(
                CurveWarning(
                    "overfitting",
                    best + 2,
                    f"dev loss rose from {_fmt(dev_losses[best])} (epoch {best + 1}) to "
                    f"{_fmt(dev_losses[last])} (epoch {last + 1}) while training loss fell from "
                    f"{_fmt(losses[best])} to {_fmt(losses[last])}: overfitting",
                    "Regularise (L2, dropout, augmentation), stop early (train.early_stopping), "
                    "or get more data.",
                )
            )
    return found
