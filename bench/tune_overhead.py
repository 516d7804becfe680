"""Benchmark: what a tuning trial costs besides fitting the model, as a share of a short trial.

Runs a real ``dlkit tune`` study (:func:`dlkit.api.tune`, trials in the study's process) on a
small recipe (an MLP on scikit-learn's breast-cancer table, a few epochs: a short trial) and
times, for every trial, the whole trial (keras-tuner's ``run_trial``: recipe, run directory,
build, fit, predictions of train / train_dev / dev, scores, run.json) and the part of it spent in
``model.fit`` (dlkit's :func:`dlkit.training.fit.fit`). The overhead is the rest. Study-level
costs (loading and splitting the data once, keras-tuner's oracle, the ranking and reports) are
reported apart, per trial. Tracked in MLflow (a SQLite store in a temporary folder) and not.

Target (issue 15): overhead at most 10% of a short trial. A trial's model is saved, and its
MLflow writes made, while the next trial trains: that work counts in the next trial (mostly in
its fit) as far as it slows it down.

Usage: python bench/tune_overhead.py [--trials 6] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECIPE = """name: bench-tune-overhead
seed: 0
data:
  source: {{type: sklearn, name: breast_cancer}}
  split: {{train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15, stratify: true}}
model: {{type: mlp, units: [32]}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{type: adam, learning_rate: 1.0e-3}}}}
metrics: {{optimize: accuracy}}
tune:
  strategy: random
  trials: {trials}
  space:
    train.optimizer.learning_rate: {{log: [1.0e-4, 1.0e-1]}}
tracking: {{uri: "sqlite:///{db}", experiment: bench-tune}}
"""


def study(folder: Path, trials: int, epochs: int, track: bool) -> dict[str, Any]:
    """One study; per-trial seconds: whole trial, fit, and the study's total."""
    from dlkit import api
    from dlkit.training import fit as fit_module
    from dlkit.tuning import tuner as tuner_module

    trial_s: list[float] = []
    fit_s: list[float] = []
    real_fit, real_run_trial = fit_module.fit, tuner_module.StudyTuner.run_trial

    def timed_fit(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real_fit(*args, **kwargs)
        finally:
            fit_s.append(time.perf_counter() - start)

    def timed_run_trial(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real_run_trial(self, *args, **kwargs)
        finally:
            trial_s.append(time.perf_counter() - start)

    recipe = folder / "tune.yaml"
    recipe.write_text(RECIPE.format(epochs=epochs, trials=trials, db=folder / "mlflow.db"), encoding="utf-8")
    fit_module.fit = timed_fit
    tuner_module.StudyTuner.run_trial = timed_run_trial
    try:
        start = time.perf_counter()
        api.tune(recipe, study_dir=folder / f"study-{track}", track=track)
        total = time.perf_counter() - start
    finally:
        fit_module.fit = real_fit
        tuner_module.StudyTuner.run_trial = real_run_trial
    return {"trial_s": trial_s, "fit_s": fit_s, "total_s": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        print(f"dlkit tune: {args.trials} trials of an MLP on breast cancer, {args.epochs} epochs each")
        # the machine may be shared: the figures only compare with others taken at the same load
        print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        header = f"{'tracking':>9} {'trial s':>8} {'fit s':>6} {'overhead s':>11} {'share':>6}"
        print(f"{header} {'study/trial s':>14}")
        for track in (False, True):
            figures = study(Path(tmp), args.trials, args.epochs, track)
            # the first trial also traces TensorFlow's functions for the first time: shown apart
            trial = statistics.median(figures["trial_s"][1:])
            fit = statistics.median(figures["fit_s"][1:])
            outside = (figures["total_s"] - sum(figures["trial_s"])) / args.trials
            print(
                f"{'MLflow' if track else 'none':>9} {trial:>8.2f} {fit:>6.2f} {trial - fit:>11.2f} "
                f"{(trial - fit) / trial:>6.0%} {outside:>14.2f}",
                flush=True,
            )
        print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
