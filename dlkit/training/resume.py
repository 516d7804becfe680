"""Checks before a run is resumed: what it may change, and whether there is anything to resume.

A run is resumed, once its process is gone (interrupted, terminated, killed, failed), from its
last completed epoch. A run stopped after its last epoch (or after early stopping ended it) but
not finished is resumed without training: it is evaluated, saved and logged as it would have been.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dlkit.recipe.loader import load_recipe
from dlkit.rundir import run_state
from dlkit.training.checkpoints import ResumeError, ResumeState, read_state
from dlkit.training.runtime import is_chief

if TYPE_CHECKING:
    from dlkit.recipe.schema import Recipe
    from dlkit.rundir import RunDir

# a resumed run continues one experiment: only its length may change
RESUMABLE_OVERRIDES = ("train.epochs",)


def prepare_resume(run: RunDir, overrides: list[str]) -> tuple[Recipe, ResumeState]:
    """The run's recipe (with an allowed override) and the state of its last completed epoch.

    Raises:
        ResumeError: an override other than train.epochs; the run is still training (its
            process alive); no completed epoch; every epoch done and the run finished; the run
            stopped early and finished, or stopped early and asked to train further; not a
            training run.
    """
    for assignment in overrides:
        path = assignment.partition("=")[0].strip()
        if path not in RESUMABLE_OVERRIDES:
            raise ResumeError(
                f"--set {assignment}: a resumed run can only change {', '.join(RESUMABLE_OVERRIDES)} "
                f"(got {path})",
                hint="to change anything else, start a new run from the recipe",
            )
    info = run.info()
    name = info.get("run_name", run.path.name)
    if not run.recipe_path.is_file():
        raise ResumeError(f"{run.path}: not a training run (no recipe.yaml)")
    recipe = load_recipe(run.recipe_path, overrides)
    # a multi_worker worker follows the chief, which may already have marked the run RUNNING
    if run_state(run) == "RUNNING" and is_chief(recipe.train.strategy):
        beat = datetime.fromisoformat(info["heartbeat"])
        age = int((datetime.now(UTC) - beat).total_seconds())
        raise ResumeError(
            f"run '{name}' is still training (pid {info['pid']} on {info['host']}, "
            f"heartbeat {age} s ago): nothing to resume",
            hint="stop it first (Ctrl-C, or kill its pid); a run whose process died can be resumed",
        )
    if info.get("tracking_uri"):
        recipe.tracking.uri = info["tracking_uri"]
    if info.get("stopped_early"):
        raise ResumeError(f"run '{name}' stopped early at epoch {info.get('epochs_run')}: nothing to resume")
    state = read_state(run.checkpoints)
    if state is None:
        raise ResumeError(
            f"run '{name}': no completed epoch to resume from (no {run.checkpoints / 'state.json'})",
            hint="start a new run from the recipe",
        )
    if state.stopped and overrides:
        raise ResumeError(
            f"run '{name}' stopped early at epoch {state.epoch}: it can be finished, not trained further",
            hint="resume it without --set",
        )
    finished = info.get("status") == "FINISHED"
    if state.epoch > recipe.train.epochs or (state.epoch == recipe.train.epochs and finished):
        raise ResumeError(
            f"run '{name}' has completed {state.epoch} of {recipe.train.epochs} epochs: nothing to resume",
            hint="train further with --set train.epochs=N (N > the epochs done)",
        )
    return recipe, state
