"""Memory of one process over a 30-trial study: does it grow from trial to trial?

Each trial clears the Keras session before building its model, and drops the
``tf.custom_gradient`` registrations its traced train steps left in TensorFlow's global gradient
registry (dlkit._tf_memory: without that, every trial kept its train-step graphs alive, about
+5.8 MB per trial). This runs a real study (random search, MLP on digits, 2 epochs per trial, no
tracking) and prints the resident memory after trials 1, 5, 10, ... and the growth per trial.

    python bench/bench_tune_memory.py [--trials 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
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
          space:
            train.optimizer.learning_rate: {{log: [1.0e-4, 1.0e-1]}}
            model.units.0: {{int: [16, 256], scale: log}}
            model.dropout: {{uniform: [0.0, 0.5]}}
        """
    )
    samples: list[float] = []

    def on_event(event: object) -> None:
        if getattr(event, "kind", "") == "trial_end":
            samples.append(rss_mb())

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.yaml"
        path.write_text(recipe)
        api.tune(path, [f"tracking.runs_dir={tmp}/runs"], track=False, on_event=on_event)
    print(f"RSS after trial  1: {samples[0]:7.1f} MB")
    for k in (5, 10, 15, 20, 25, 30):
        if k <= len(samples):
            print(f"RSS after trial {k:2d}: {samples[k - 1]:7.1f} MB")
    half = len(samples) // 2
    import numpy as np

    slope = np.polyfit(np.arange(half, len(samples)), samples[half:], 1)[0]
    print(f"growth over trials {half + 1}-{len(samples)}: {slope:+.2f} MB per trial (least squares)")
    print(f"total from trial 2 to {len(samples)}: {samples[-1] - samples[1]:+.1f} MB")


if __name__ == "__main__":
    main()
