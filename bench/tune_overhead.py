"""Benchmark: what a tuning trial costs besides fitting the model, as a share of a short trial.

Runs a real ``dlkit tune`` study (:func:`dlkit.api.tune`, trials in the study's process) on a
small recipe (an MLP on scikit-learn's breast-cancer table, a few epochs: a short trial) and
times, for every trial, the whole trial (keras-tuner's ``run_trial``: recipe, run directory,
build, fit, predictions of train / train_dev / dev, scores, run.json) and the part of it spent in
``model.fit`` (dlkit's :func:`dlkit.training.fit.fit`). The overhead is the rest (each trial's,
then the median). Study-level costs (loading and splitting the data once, keras-tuner's oracle,
the ranking and reports) are reported apart, per trial. Tracked in MLflow (a SQLite store in a
temporary folder) and not. The parts of a trial (:data:`PHASES`: building, predicting, saving,
clearing the session, the run directory, records and table) are timed too, medians per trial,
and the overhead in CPU seconds of the study's process (every thread's), which other work on
the machine disturbs less than wall seconds.

Target (issue 15): overhead at most 10% of a short trial. A trial's MLflow writes are made on a
writer thread while the next trial runs: they count in the next trial as far as they slow it.

Before and after: ``--code`` names checkouts (this one: ``.``); each study then runs in its own
process with that checkout's ``dlkit`` imported, the checkouts alternating round after round
(``--rounds``), so both are measured in the same minutes at the same load. The summary gives,
per checkout and tracking, the median over rounds of each round's medians.

Usage: python bench/tune_overhead.py [--trials 6] [--epochs 5] [--code . --code ../before] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the checkout whose dlkit is measured: this one, or the one --code gave a worker process
CODE = Path(os.environ.get("DLKIT_BENCH_CODE", ROOT)).resolve()
sys.path.insert(0, str(CODE))

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


# the parts of a trial timed apart: (module, owner, attribute, label); the calls nest
# (the predict trace is part of predicting the sets, the collection part of clearing the session)
PHASES = (
    ("dlkit.training.pipeline", None, "build_model", "build and compile"),
    ("dlkit.training.pipeline", "KeptModel", "__call__", "build or reset, compile"),
    ("dlkit.training.fit", None, "build_training_state", "fit: optimizer state"),
    ("dlkit.training.pipeline", None, "predict_sets", "predict, score, write sets"),
    ("dlkit.models.outputs", None, "_trace_open_batch", "  of which predict trace"),
    ("keras", "Model", "save", "save the model"),
    ("keras.backend", None, "clear_session", "clear the Keras session"),
    ("gc", None, "collect", "  of which full collection"),
    ("dlkit.tuning.tuner", "StudyTuner", "_prepare_run", "run directory, run.json"),
    ("dlkit.tuning.tuner", "StudyTuner", "_trial_run", "start the trial's MLflow run"),
    ("dlkit.tuning.study", "StudyDir", "write_record", "trial records"),
    ("dlkit.tuning.study", "StudyDir", "write_table", "trials.csv/parquet"),
)


def study(folder: Path, trials: int, epochs: int, track: bool) -> dict[str, Any]:
    """One study; per-trial seconds: whole trial, fit, each of :data:`PHASES`, and the study's total."""
    import importlib

    from dlkit import api
    from dlkit.training import fit as fit_module
    from dlkit.tuning import tuner as tuner_module

    trial_s: list[float] = []
    fit_s: list[float] = []
    # CPU seconds of this process (every thread: a writer thread's work counts, a writer
    # process's does not), steadier than wall seconds on a machine shared with other work
    trial_cpu: list[float] = []
    fit_cpu: list[float] = []
    phases: dict[str, list[float]] = {label: [] for *_, label in PHASES}
    current: dict[str, float] = {}
    patched: list[tuple[Any, str, Any]] = []

    def timed(real: Any, label: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                current[label] = current.get(label, 0.0) + time.perf_counter() - start

        return call

    for module, owner, name, label in PHASES:
        target = importlib.import_module(module)
        target = getattr(target, owner, None) if owner else target
        if hasattr(target, name):  # an older checkout may lack one
            patched.append((target, name, getattr(target, name)))
            setattr(target, name, timed(getattr(target, name), label))
    real_fit, real_run_trial = fit_module.fit, tuner_module.StudyTuner.run_trial
    patched += [(fit_module, "fit", real_fit), (tuner_module.StudyTuner, "run_trial", real_run_trial)]

    def timed_fit(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return real_fit(*args, **kwargs)
        finally:
            fit_s.append(time.perf_counter() - start)
            fit_cpu.append(time.process_time() - cpu)

    def timed_run_trial(self: Any, *args: Any, **kwargs: Any) -> Any:
        current.clear()
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return real_run_trial(self, *args, **kwargs)
        finally:
            trial_s.append(time.perf_counter() - start)
            trial_cpu.append(time.process_time() - cpu)
            for label, seconds in phases.items():
                seconds.append(current.get(label, 0.0))

    recipe = folder / "tune.yaml"
    recipe.write_text(RECIPE.format(epochs=epochs, trials=trials, db=folder / "mlflow.db"), encoding="utf-8")
    fit_module.fit = timed_fit
    tuner_module.StudyTuner.run_trial = timed_run_trial
    try:
        start = time.perf_counter()
        api.tune(recipe, study_dir=folder / f"study-{track}", track=track)
        total = time.perf_counter() - start
    finally:
        for target, name, real in reversed(patched):
            setattr(target, name, real)
    return {
        "trial_s": trial_s,
        "fit_s": fit_s,
        "trial_cpu": trial_cpu,
        "fit_cpu": fit_cpu,
        "total_s": total,
        "phases": phases,
    }


def figures_of(trials: int, epochs: int) -> list[dict[str, Any]]:
    """Both studies (untracked, then tracked) with this process's dlkit; the medians of each."""
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    rows = []
    cwd = Path.cwd()  # given back: the next round resolves its checkouts from it
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        for track in (False, True):
            load = os.getloadavg()[0]
            figures = study(Path(tmp), trials, epochs, track)
            # the first trial also traces TensorFlow's functions for the first time: left out
            trial_s, fit_s = figures["trial_s"][1:], figures["fit_s"][1:]
            # each trial's own overhead, then the median: steadier than the difference of the
            # medians of trials and fits, which may come from different trials
            overheads = [t - f for t, f in zip(trial_s, fit_s, strict=True)]
            shares = [(t - f) / t for t, f in zip(trial_s, fit_s, strict=True)]
            outside = (figures["total_s"] - sum(figures["trial_s"])) / trials
            phases = {k: statistics.median(v[1:]) for k, v in figures["phases"].items()}
            row = {"track": track, "trial": statistics.median(trial_s), "fit": statistics.median(fit_s)}
            row |= {"overhead": statistics.median(overheads), "share": statistics.median(shares)}
            cpu = zip(figures["trial_cpu"][1:], figures["fit_cpu"][1:], strict=True)
            row["cpu_overhead"] = statistics.median(t - f for t, f in cpu)
            rows.append({**row, "outside": outside, "load": load, "phases": phases})
        os.chdir(cwd)
    return rows


def print_row(code: str, rnd: int, row: dict[str, Any]) -> None:
    print(
        f"{code:>10} {rnd:>5} {'MLflow' if row['track'] else 'none':>9} {row['trial']:>8.2f} "
        f"{row['fit']:>6.2f} {row['overhead']:>11.3f} {row['share']:>6.1%} "
        f"{row['outside']:>14.2f} {row['load']:>5.1f} {row['cpu_overhead']:>13.3f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--code", action="append", help="a checkout to measure (repeat to compare)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of alternating checkouts")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # one checkout's studies, for the parent process: figures as JSON on stdout
        print(json.dumps(figures_of(args.trials, args.epochs)))
        return
    codes = args.code or ["."]
    print(f"dlkit tune: {args.trials} trials of an MLP on breast cancer, {args.epochs} epochs each")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    header = f"{'code':>10} {'round':>5} {'tracking':>9} {'trial s':>8} {'fit s':>6} {'overhead s':>11}"
    print(f"{header} {'share':>6} {'study/trial s':>14} {'load':>5} {'overhead CPU s':>13}")
    results: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for rnd in range(1, args.rounds + 1):
        for code in codes:
            folder = Path(code).resolve()
            if len(codes) == 1 and folder == CODE:
                rows = figures_of(args.trials, args.epochs)
            else:
                env = {**os.environ, "DLKIT_BENCH_CODE": str(folder), "PYTHONPATH": str(folder)}
                command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
                command += ["--trials", str(args.trials), "--epochs", str(args.epochs)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                rows = json.loads(done.stdout.strip().splitlines()[-1])
            for row in rows:
                print_row(Path(code).name or code, rnd, row)
                results.setdefault((code, row["track"]), []).append(row)
    print("median over rounds; the trial's parts (medians per trial, ms):")
    for (code, track), rows in results.items():
        trial = statistics.median(r["trial"] for r in rows)
        fit = statistics.median(r["fit"] for r in rows)
        overhead = statistics.median(r["overhead"] for r in rows)
        share = statistics.median(r["share"] for r in rows)
        cpu = statistics.median(r["cpu_overhead"] for r in rows)
        print(
            f"{Path(code).name or code}, {'MLflow' if track else 'untracked'}: trial {trial:.2f} s, "
            f"fit {fit:.2f} s, overhead {overhead:.3f} s, share {share:.1%}, overhead CPU {cpu:.3f} s"
        )
        for label in rows[0]["phases"]:
            print(f"    {label:<28} {1000 * statistics.median(r['phases'][label] for r in rows):7.1f}")
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
