"""Benchmark: seconds per epoch, plain Keras ``fit`` against ``dlkit train``, side by side.

Each round trains, in this one process and in turn, the same recipe three ways:

- ``keras``: the model from dlkit's builder (:func:`dlkit.training.pipeline.build_model`), the
  same ``tf.data`` stream and dev batches (:func:`~dlkit.training.pipeline.training_data`), the
  same batch size, given to ``model.fit`` with dev validation every epoch and no callback but a
  clock;
- ``dlkit``: :func:`dlkit.api.train` untracked (checkpoints every epoch, history, schedule, early
  stopping, heartbeat: the whole train path);
- ``tracked``: :func:`dlkit.api.train` tracked in a SQLite MLflow store in a temporary folder,
  written by a thread of this process (as where MLflow is imported already: a notebook; this
  process imports it to time its calls);
- ``tracked, writer process``: the same, written by the tracking writer process, as ``dlkit
  train`` on the command line writes (``DLKIT_TRACKING_WRITER=process``); its calls run in the
  writer and are not timed here.

An epoch's time is the time between two successive epoch ends (so a checkpoint written at the
end of an epoch counts in it); the first epoch (tracing) is left out. Rounds alternate the three
ways, and each figure is the median over every timed epoch of every round. The share of dlkit's
callbacks (checkpoint write, the epoch's record: history row, checkpoint and tracking together;
MLflow's per-epoch logging on its own) is measured by timing those calls during the same runs.

Workloads: ``quickstart`` (recipes/digits-cnn.yaml) and ``table`` (a generated CSV of
``--rows`` rows, 20 numeric features, 3 classes, mlp [256, 256], batches of 128).

Usage: python bench/overhead.py [--workloads quickstart table] [--epochs 6] [--rounds 3] [--rows 100000]
       [--code OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TABLE_RECIPE = """name: bench-table
seed: 0
data:
  source: {type: csv, path: table.csv, target: label}
  split: {train: 0.8, dev: 0.1, test: 0.1}
model: {type: mlp, units: [256, 256]}
train: {epochs: 6, batch_size: 128, optimizer: {type: adam, learning_rate: 0.001}}
"""


def versions() -> str:
    """The versions and the machine the figures come from (printed with them)."""
    import keras
    import mlflow
    import tensorflow as tf

    from dlkit import __version__

    return (
        f"dlkit {__version__}, Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, MLflow {mlflow.__version__}; {platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f}"
    )


def make_table(path: Path, rows: int) -> None:
    """A CSV of ``rows`` rows: 20 numeric features, a 3-class label from a noisy linear rule."""
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 20)).astype(np.float32)
    score = x[:, :3] @ np.array([1.0, -1.0, 0.5]) + 0.5 * rng.normal(size=rows)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    frame["label"] = np.digitize(score, [-0.5, 0.5])
    frame.to_csv(path, index=False)


class Timings:
    """Seconds spent in named calls, and the times every epoch ended."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.epoch_ends: list[float] = []

    def epoch_times(self) -> list[float]:
        """Seconds per epoch, the first (tracing) left out."""
        ends = self.epoch_ends
        return [b - a for a, b in itertools.pairwise(ends)]


@contextlib.contextmanager
def timed(owner: Any, name: str, timings: Timings, key: str) -> Iterator[None]:
    """``owner.name`` replaced by a wrapper that adds its seconds to ``timings.spent[key]``."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.spent[key] += time.perf_counter() - start

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def run_keras(recipe: Any) -> Timings:
    """Plain ``model.fit`` on dlkit's model and stream; a clock callback, nothing else."""
    import keras

    from dlkit.training.pipeline import build_model, training_data
    from dlkit.training.prepare import split_recipe
    from dlkit.training.runtime import training_runtime

    timings = Timings()

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            timings.epoch_ends.append(time.perf_counter())

    outcome = split_recipe(recipe)
    data, parts = outcome.data, outcome.split
    train, dev = parts.indices("train"), parts.indices("dev")
    spec = recipe.train
    with training_runtime(spec, recipe.seed) as runtime:
        model = build_model(recipe, data, train, runtime)
        stream, dev_batches, steps = training_data(spec, data, train, dev, recipe.seed)
        model.fit(
            stream,
            validation_data=dev_batches,
            epochs=spec.epochs,
            steps_per_epoch=steps,
            callbacks=[Clock()],
            shuffle=False,
            verbose=0,
        )
    keras.backend.clear_session(free_memory=False)
    return timings


@contextlib.contextmanager
def _environ_restored(name: str, value: str | None) -> Iterator[None]:
    """On exit, the environment variable ``name`` is ``value`` again (unset if None)."""
    try:
        yield
    finally:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_dlkit(recipe: Any, track: bool, writer: str = "thread") -> Timings:
    """:func:`dlkit.api.train`, with its checkpoint writes, epoch records and MLflow logging timed;
    ``writer``: who writes a tracked run's MLflow records (``thread`` or ``process``)."""
    import keras

    from dlkit import api
    from dlkit.tracking.mlflow_tracker import MLflowStore
    from dlkit.tracking.queued import WRITER_ENV
    from dlkit.training import _callbacks, checkpoints

    timings = Timings()
    previous = os.environ.get(WRITER_ENV)
    os.environ[WRITER_ENV] = writer
    with (
        _environ_restored(WRITER_ENV, previous),
        timed(checkpoints, "write_checkpoint", timings, "checkpoint"),
        timed(_callbacks.EpochRecorder, "on_epoch_end", timings, "epoch record"),
        timed(MLflowStore, "log_metrics", timings, "mlflow metrics"),
    ):
        result = api.train(
            recipe, track=track, on_epoch=lambda event: timings.epoch_ends.append(time.perf_counter())
        )
    assert result.epochs_run == recipe.train.epochs, result.epochs_run
    keras.backend.clear_session(free_memory=False)
    # the final metrics are logged once after fitting: only the per-epoch calls count here
    return timings


def bench(name: str, recipe_path: Path, overrides: list[str], rounds: int, folder: Path) -> None:
    from dlkit import api

    store = f"sqlite:///{folder / 'mlflow.db'}"
    recipe = api.load_recipe(
        recipe_path, [*overrides, f"tracking.runs_dir={folder / 'runs'}", f"tracking.uri={store}"]
    )
    ways: dict[str, Callable[[], Timings]] = {
        "keras": lambda: run_keras(recipe),
        "dlkit": lambda: run_dlkit(recipe, track=False),
        "tracked": lambda: run_dlkit(recipe, track=True),
        "process": lambda: run_dlkit(recipe, track=True, writer="process"),
    }
    run_dlkit(recipe, track=True)  # warm-up: imports, the store's tables, first traces
    epochs: dict[str, list[float]] = defaultdict(list)
    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i in range(rounds):
        order = list(ways) if i % 2 == 0 else list(reversed(ways))
        for way in order:
            t = ways[way]()
            epochs[way].extend(t.epoch_times())
            n = len(t.epoch_ends)
            for key, seconds in t.spent.items():
                spent[way][key] += seconds / n / rounds  # per epoch
    med = {way: statistics.median(times) for way, times in epochs.items()}
    n_timed = len(epochs["keras"])
    print(f"\n{name}: s/epoch, median of {n_timed} epochs ({rounds} rounds x {recipe.train.epochs - 1})")
    print(f"  {'plain Keras fit':<28} {med['keras']:.3f}")
    labels = (
        ("dlkit", "dlkit train (untracked)"),
        ("tracked", "dlkit train (tracked)"),
        ("process", "tracked, writer process"),
    )
    for way, label in labels:
        print(f"  {label:<28} {med[way]:.3f}   ratio to Keras {med[way] / med['keras']:.2f}x")
        for key, seconds in sorted(spent[way].items()):
            print(f"      {key:<24} {seconds:.4f} s/epoch  ({seconds / med[way]:.1%} of an epoch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workloads = ["quickstart", "table"]
    parser.add_argument("--workloads", nargs="+", default=workloads, choices=workloads)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--code", default=str(REPO), help="the dlkit checkout measured (before/after)")
    args = parser.parse_args()
    sys.path.insert(0, args.code)

    from dlkit._tf import import_tensorflow

    import_tensorflow()
    print(versions())
    for workload in args.workloads:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if workload == "quickstart":
                bench(
                    "quick start (recipes/digits-cnn.yaml)",
                    REPO / "recipes" / "digits-cnn.yaml",
                    [f"train.epochs={args.epochs}"],
                    args.rounds,
                    folder,
                )
            else:
                make_table(folder / "table.csv", args.rows)
                (folder / "table.yaml").write_text(TABLE_RECIPE)
                cwd = Path.cwd()
                os.chdir(folder)  # the recipe's CSV path is relative
                try:
                    bench(
                        f"table ({args.rows:,} rows x 20, mlp [256, 256], batches of 128)",
                        folder / "table.yaml",
                        [f"train.epochs={args.epochs}"],
                        args.rounds,
                        folder,
                    )
                finally:
                    os.chdir(cwd)


if __name__ == "__main__":
    main()
