"""Benchmark: streamed input against the same data in memory: step time, and memory as files grow 10x.

For a CSV table, the same table as Parquet, and a folder of PNG images, each in a fresh Python
process, ``dlkit train`` (:func:`dlkit.api.train`, untracked) runs the same model with
``stream: true`` (read from the files every epoch through ``tf.data``) and ``stream: false``
(loaded whole). Step time is the median epoch after the first (the first traces the model),
divided by its batches; an epoch includes validation on dev, streamed or in memory alike.
Memory is the peak resident size minus the size after imports, at N and 10N examples:
streamed memory should stay flat when the file grows, loaded whole it grows with the data.

Target (issue 15): streamed at most 1.1x the in-memory step time; memory flat at 10x. ``load``
is the load average (1 minute) as a case ends; on a shared machine wall-clock steps vary with
it, so the CPU seconds of the process (all its threads) per step are printed too: the work a
step costs, whatever the load.

Usage: python bench/input_pipeline.py [--rows 20000] [--images 400] [--epochs 4]
                                      [--sources csv,parquet,images] [--code DIR] [--phases]

``--code`` runs another checkout of dlkit (e.g. an export of an earlier commit) on the same
files, so that two versions can be measured in turn in the same minutes. ``--phases`` prints, for the
streamed run of each case, the peak resident size above imports in each phase (split, normaliser
and model, fit, predictions of each set), sampled every 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
N_FEATURES = 32

CODE = """
import itertools, json, resource, statistics, time

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

from dlkit._tf import import_tensorflow
import_tensorflow()
import keras, PIL.Image, pyarrow.parquet, scipy.stats
from dlkit import api
recipe = api.load_recipe("recipe.yaml")
base = rss_mb()
stamps, cpu = [], []

def stamp(_):
    stamps.append(time.perf_counter())
    cpu.append(time.process_time())

#PHASES#
result = api.train(recipe, track=False, on_start=stamp, on_epoch=stamp)
epochs = [b - a for a, b in itertools.pairwise(stamps)]
cpu_epochs = [b - a for a, b in itertools.pairwise(cpu)]
steps = -(-result.split_sizes["train"] // recipe.train.batch_size)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{
    "step_ms": 1000 * statistics.median(epochs[1:]) / steps,
    "cpu_ms": 1000 * statistics.median(cpu_epochs[1:]) / steps,
    "first_epoch_s": epochs[0],
    "data_mb": peak - base,
    "dev_error": result.metrics["dev"]["error"],
    "phases": globals().get("peaks", {{}}),
}}))
"""

# --phases: the resident size above imports sampled every 10 ms, its peak kept per phase (each
# phase starts when its function is called and lasts until the next one starts)
PHASES = """
import threading
from dlkit.training import fit as _fit, pipeline as _pipeline, trainer as _trainer
phase, peaks = ["start"], {}

def _sample():
    while True:
        peaks[phase[-1]] = max(peaks.get(phase[-1], 0.0), rss_mb() - base)
        time.sleep(0.01)

def _marked(module, name, label):
    inner = getattr(module, name)
    def call(*args, **kwargs):
        phase.append(label(*args) if callable(label) else label)
        return inner(*args, **kwargs)
    setattr(module, name, call)

_marked(_trainer, "split_recipe", "split")
_marked(_pipeline, "normalizer_inputs", "normaliser")
_marked(_fit, "fit", "fit")
_marked(_pipeline, "predict_set", lambda *a: "predict " + a[4].stem)
threading.Thread(target=_sample, daemon=True).start()
"""

TABLE = """name: bench-input
seed: 0
data:
  source: {{type: {kind}, path: {path}, target: label, stream: {stream}}}
  split: {{train: 0.8, dev: 0.1, test: 0.1}}
model: {{type: mlp, units: [64]}}
train: {{epochs: {epochs}, batch_size: 64, optimizer: {{type: adam, learning_rate: 0.001}}}}
tracking: {{runs_dir: runs}}
"""
IMAGES = """name: bench-input
seed: 0
data:
  source: {{type: images, path: {path}, image_size: [32, 32], stream: {stream}}}
  split: {{train: 0.8, dev: 0.1, test: 0.1, stratify: false}}
model: {{type: cnn, filters: [8, 16], dense: [32]}}
train: {{epochs: {epochs}, batch_size: 64, optimizer: {{type: adam, learning_rate: 0.001}}}}
tracking: {{runs_dir: runs}}
"""


def make_table(folder: Path, rows: int) -> tuple[Path, Path]:
    """A CSV and a Parquet file of ``rows`` rows: 32 numeric features and a binary label."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, N_FEATURES)).astype(np.float32)
    frame = pd.DataFrame(x.round(5), columns=[f"f{k}" for k in range(N_FEATURES)])
    frame["label"] = (x[:, 0] + x[:, 1] > 0).astype(int)
    csv, parquet = folder / f"t{rows}.csv", folder / f"t{rows}.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    return csv, parquet


def make_images(folder: Path, n: int) -> Path:
    """``n`` 32x32 RGB PNGs in 4 class folders."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = folder / f"imgs{n}"
    for i in range(n):
        path = root / f"class{i % 4}" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, size=(32, 32, 3), dtype=np.uint8)).save(path)
    return root


def measure(recipe: str, cwd: Path, code: Path = REPO, phases: bool = False) -> dict[str, Any]:
    (cwd / "recipe.yaml").write_text(recipe, encoding="utf-8")
    script = textwrap.dedent(CODE).format().replace("#PHASES#", PHASES if phases else "")
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(code), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="the small table; the large is 10x")
    parser.add_argument("--images", type=int, default=400, help="the small folder; the large is 10x")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--sources", default="csv,parquet,images", help="which of csv, parquet, images to measure"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="the dlkit checkout to run (this one)")
    parser.add_argument(
        "--phases", action="store_true", help="also print the streamed run's peak MiB per phase"
    )
    args = parser.parse_args()
    sources = set(args.sources.split(","))
    print("dlkit train, median step after the first epoch, batches of 64; memory = peak RSS - after imports")
    print(
        f"{'source':>8} {'examples':>9} {'in memory ms':>13} {'streamed ms':>12} {'ratio':>6} "
        f"{'in memory MiB':>14} {'streamed MiB':>13} {'load':>5} {'CPU ms in memory':>17} "
        f"{'CPU ms streamed':>16} {'CPU ratio':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases: list[tuple[str, int, str, str]] = []
        for n in (args.rows, 10 * args.rows):
            csv, parquet = make_table(work, n)
            cases.append(("csv", n, TABLE, str(csv)))
            cases.append(("parquet", n, TABLE, str(parquet)))
        for n in (args.images, 10 * args.images) if "images" in sources else ():
            cases.append(("images", n, IMAGES, str(make_images(work, n))))
        cases = [c for c in cases if c[0] in sources]
        for kind, n, template, path in sorted(cases, key=lambda c: (c[0], c[1])):
            figures = {
                stream: measure(
                    template.format(kind=kind, path=path, stream=stream, epochs=args.epochs),
                    work,
                    args.code.resolve(),
                    args.phases,
                )
                for stream in ("false", "true")
            }
            memory, streamed = figures["false"], figures["true"]
            print(
                f"{kind:>8} {n:>9,} {memory['step_ms']:>13.2f} {streamed['step_ms']:>12.2f} "
                f"{streamed['step_ms'] / memory['step_ms']:>6.2f} {memory['data_mb']:>14.0f} "
                f"{streamed['data_mb']:>13.0f} {os.getloadavg()[0]:>5.1f} {memory['cpu_ms']:>17.2f} "
                f"{streamed['cpu_ms']:>16.2f} {streamed['cpu_ms'] / memory['cpu_ms']:>9.2f}",
                flush=True,
            )
            if args.phases:
                peaks = ", ".join(f"{k} {v:.0f}" for k, v in streamed["phases"].items())
                print(f"{'':>8} streamed, peak MiB per phase: {peaks}", flush=True)


if __name__ == "__main__":
    main()
