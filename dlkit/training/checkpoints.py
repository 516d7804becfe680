"""Checkpoints kept with a run, and what a resumed run needs to continue exactly.

Every completed epoch writes, in the run's ``checkpoints/`` folder:

- ``last.keras``: the model with its optimizer state (moments, iteration count, learning rate);
- ``best.keras``: the model at the best epoch so far (early stopping's monitor, else val_loss);
- ``state.json``: the epoch count, the history so far, the schedule's and early stopping's
  state, and the random generators' positions (dropout, augmentation), which Keras does not
  save in a ``.keras`` file.

Files are replaced atomically, model first, so a run killed at any moment leaves a consistent
pair; the iteration count in ``state.json`` is checked against the model's on resume.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import DlkitError

if TYPE_CHECKING:
    import keras

STATE_FILE = "state.json"
LAST = "last.keras"
BEST = "best.keras"


class ResumeError(DlkitError):
    """A run cannot be resumed (no checkpoint, finished, stopped early, changed data)."""

    exit_code = 2


@dataclass
class ResumeState:
    """What ``state.json`` holds about a run's last completed epoch."""

    epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    iterations: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    plateau: dict[str, Any] | None = None
    early_stopping: dict[str, Any] | None = None
    seed_generators: list[list[int]] = field(default_factory=list)
    best_weights: list[Any] | None = None  # early stopping's best weights, read from best.keras

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "iterations": self.iterations,
            "best": self.best,
            "plateau": self.plateau,
            "early_stopping": self.early_stopping,
            "seed_generators": self.seed_generators,
            "history": self.history,
        }


def read_state(folder: Path) -> ResumeState | None:
    """The state of the last completed epoch, or None when no epoch completed."""
    path = folder / STATE_FILE
    if not path.is_file() or not (folder / LAST).is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return ResumeState(
        epoch=int(data["epoch"]),
        history=list(data.get("history", [])),
        iterations=int(data.get("iterations", 0)),
        best=dict(data.get("best") or {}),
        plateau=data.get("plateau"),
        early_stopping=data.get("early_stopping"),
        seed_generators=list(data.get("seed_generators", [])),
    )


def write_state(folder: Path, state: ResumeState) -> None:
    from dlkit.rundir import write_json

    write_json(folder / STATE_FILE, state.to_json())


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Save to a temporary ``.keras`` beside ``path``, then rename over it."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def _seed_variables(model: keras.Model) -> list[Any]:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def seed_states(model: keras.Model) -> list[list[int]]:
    """The positions of the model's random generators (dropout, augmentation)."""
    return [[int(s) for s in v.numpy().reshape(-1)] for v in _seed_variables(model)]


def iterations(model: keras.Model) -> int:
    return int(model.optimizer.iterations.numpy())


def restore(model: keras.Model, folder: Path, state: ResumeState, *, best_weights: bool) -> None:
    """Load the last checkpoint into a freshly built and compiled ``model``.

    Args:
        model: built the same way as the run's model, compiled.
        folder: the run's checkpoints.
        state: from :func:`read_state`.
        best_weights: also read best.keras into ``state.best_weights`` (early stopping restores it).

    Raises:
        ResumeError: the checkpoint does not fit the model, or disagrees with state.json.
    """
    import numpy as np

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        if best_weights and (folder / BEST).is_file():
            model.load_weights(folder / BEST)
            state.best_weights = model.get_weights()
        model.load_weights(folder / LAST)
    except ValueError as exc:
        raise ResumeError(f"{folder / LAST}: does not fit the recipe's model: {exc}") from None
    if iterations(model) != state.iterations:
        raise ResumeError(
            f"{folder / STATE_FILE}: records {state.iterations} steps but {LAST} has "
            f"{iterations(model)}; the checkpoint was not written completely"
        )
    variables = _seed_variables(model)
    if len(variables) != len(state.seed_generators):
        raise ResumeError(
            f"{folder / STATE_FILE}: {len(state.seed_generators)} random generators saved, "
            f"the model has {len(variables)}"
        )
    for var, value in zip(variables, state.seed_generators, strict=True):
        var.assign(np.asarray(value, dtype=var.dtype).reshape(var.shape))
