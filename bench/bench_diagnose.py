"""Benchmark: ``dlkit diagnose`` and ``dlkit analyze-errors`` from stored predictions of 100,000
examples per split.

Builds a fake finished run directory (train, train_dev, dev, test; 10 classes, every column
``dlkit train`` writes) and times:

- cold: ``dlkit diagnose RUN`` in a fresh Python process (imports, Parquet reads, intervals,
  Markdown/HTML reports with the plot, the rich tables), as a user sees it;
- cold: ``dlkit analyze-errors RUN`` in a fresh process, the first time (the sheet drawn and
  written) and again (the sheet kept: the common case afterwards);
- warm: :func:`dlkit.runs.diagnose.diagnose_run` in this process, with and without
  writing the reports.

Target: each cold report in under 2 s on 2 cores.

Usage: python bench/bench_diagnose.py [--n 100000] [--repeats 5]
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

import numpy as np
import pandas as pd

SPLITS = {"train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.12}
N_CLASSES = 10


def build_run(root: Path, n: int, seed: int = 0) -> Path:
    """A finished run directory with ``n`` stored predictions per split."""
    rng = np.random.default_rng(seed)
    path = root / "bench-run"
    (path / "predictions").mkdir(parents=True)
    for split, error in SPLITS.items():
        proba = rng.dirichlet(np.ones(N_CLASSES), size=n)
        y_true = rng.integers(0, N_CLASSES, n)
        correct = rng.random(n) >= error
        y_pred = np.where(correct, y_true, (y_true + 1) % N_CLASSES)
        frame = pd.DataFrame(
            {
                "id": np.arange(n),
                "y_true": y_true,
                "y_pred": y_pred,
                "correct": correct,
                "confidence": proba.max(axis=1),
                "loss": -np.log(np.clip(proba[np.arange(n), y_true], 1e-7, 1)),
                **{f"proba_{k}": proba[:, k] for k in range(N_CLASSES)},
            }
        )
        frame.to_parquet(path / "predictions" / f"{split}.parquet", index=False)
    (path / "recipe.yaml").write_text("name: bench\ntargets: {human_error: 0.01}\n", encoding="utf-8")
    info = {
        "run_name": "bench-run",
        "status": "FINISHED",
        "task": "multiclass",
        "optimize": "accuracy",
        "human_error": 0.01,
        "run_id": None,
        "tracking_uri": None,
        "split_sizes": dict.fromkeys(SPLITS, n),
    }
    (path / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return path


def time_cold(run: Path, repeats: int, command: str = "diagnose") -> list[float]:
    env = {**os.environ, "COLUMNS": "120"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dlkit", command, str(run)], check=True, capture_output=True, env=env
        )
        times.append(time.perf_counter() - start)
    return times


def time_warm(run: Path, repeats: int, reports: bool) -> list[float]:
    from dlkit.rundir import RunDir
    from dlkit.runs.diagnose import diagnose_run

    diagnose_run(RunDir.open(run), reports=reports)  # imports and first plot out of the timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        diagnose_run(RunDir.open(run), reports=reports)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="examples per split")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = build_run(Path(tmp), args.n)
        size = sum(p.stat().st_size for p in (run / "predictions").iterdir()) / 1e6
        print(
            f"built {len(SPLITS)} x {args.n:,} predictions ({size:.0f} MB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        print(f"cores available: {len(os.sched_getaffinity(0))}")
        rows = [
            ("cold `dlkit diagnose RUN` (new process)", time_cold(run, args.repeats)),
            ("cold `dlkit analyze-errors RUN`, sheet written", time_cold(run, 1, "analyze-errors")),
            ("cold `dlkit analyze-errors RUN`, sheet kept", time_cold(run, args.repeats, "analyze-errors")),
            ("warm diagnose_run, reports written", time_warm(run, args.repeats, reports=True)),
            ("warm diagnose_run, no reports", time_warm(run, args.repeats, reports=False)),
        ]
        for label, times in rows:
            print(
                f"{label:50s} median {statistics.median(times):.3f} s  "
                f"(min {min(times):.3f}, max {max(times):.3f})"
            )
        for label, times in rows[:3]:
            cold = statistics.median(times)
            print(f"target < 2 s, {label}: {'met' if cold < 2 else 'NOT met'} ({cold:.2f} s)")


if __name__ == "__main__":
    main()
