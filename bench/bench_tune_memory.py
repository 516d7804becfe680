"""Memory of one process over a 30-trial study: does it grow from trial to trial?

Each trial clears the Keras session before building its model, and drops the
``tf.custom_gradient`` registrations its traced train steps left in TensorFlow's global gradient
registry (dlkit._tf_memory: without that, every trial kept its train-step graphs alive, about
+5.8 MB per trial). This runs a real study (random search, MLP on digits, 2 epochs per trial, no
tracking) and prints the resident memory after trials 1, 5, 10, ... and the growth per trial.
With ``--isolation process`` trials train in a worker subprocess replaced every ``--recycle-every``
trials; the study's process and the worker are measured apart, and the seconds per trial compared.

    python bench/bench_tune_memory.py [--trials 30]
    python bench/bench_tune_memory.py --trials 30 --isolation process --recycle-every 10
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def children_rss_mb() -> float:
    """Resident memory of this process's children (the trial worker), 0 when there is none."""
    pids = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids += (task / "children").read_text().split()
    return sum(rss_mb(pid) for pid in pids if pid) if pids else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--isolation", choices=("none", "process"), default="none")
    parser.add_argument("--recycle-every", type=int, default=10)
    args = parser.parse_args()
    from dlkit import api

    recipe = textwrap.dedent(
        f"""
        name: memory
        seed: 0
        data:
          source: {{type: sklearn, name: digits}}
          split: {{train: 0.6, dev: 0.2, test: 0.2}}
        model: {{type: mlp, units: [32]}}
        train: {{epochs: 2, batch_size: 64}}
        tune:
          trials: {args.trials}
          isolation: {args.isolation}
          recycle_every: {args.recycle_every}
          space:
            train.optimizer.learning_rate: {{log: [1.0e-4, 1.0e-1]}}
            model.units.0: {{int: [16, 256], scale: log}}
            model.dropout: {{uniform: [0.0, 0.5]}}
        """
    )
    samples: list[float] = []
    workers: list[float] = []
    ends: list[float] = []

    def on_event(event: object) -> None:
        if getattr(event, "kind", "") == "trial_end":
            samples.append(rss_mb())
            workers.append(children_rss_mb())
            ends.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.yaml"
        path.write_text(recipe)
        api.tune(path, [f"tracking.runs_dir={tmp}/runs"], track=False, on_event=on_event)
    worker = f"; trial worker {workers[0]:7.1f} MB" if args.isolation == "process" else ""
    print(f"RSS after trial  1: {samples[0]:7.1f} MB{worker}")
    for k in sorted({5, 10, 15, 20, 25, 30, 40, 50, 60, len(samples)}):
        if k <= len(samples):
            worker = f"; trial worker {workers[k - 1]:7.1f} MB" if args.isolation == "process" else ""
            print(f"RSS after trial {k:2d}: {samples[k - 1]:7.1f} MB{worker}")
    half = len(samples) // 2
    import numpy as np

    slope = np.polyfit(np.arange(half, len(samples)), samples[half:], 1)[0]
    print(f"growth over trials {half + 1}-{len(samples)}: {slope:+.2f} MB per trial (least squares)")
    print(f"total from trial 2 to {len(samples)}: {samples[-1] - samples[1]:+.1f} MB")
    per_trial = (ends[-1] - ends[0]) / (len(ends) - 1)
    print(f"seconds per trial (trials 2-{len(ends)}): {per_trial:.2f}")


if __name__ == "__main__":
    main()
