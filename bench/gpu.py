"""Benchmark: GPU training throughput through ``dlkit train``, with and without mixed precision and XLA.

Each configuration trains in a fresh Python process (the mixed-precision policy is global to a
process) through :func:`dlkit.api.train`, the path ``dlkit train`` takes, untracked:

- ``quickstart``: the quick-start recipe (``digits-cnn``: the small CNN on scikit-learn's 8x8
  digits), as shipped;
- ``resnet50``: ResNet-50 (``model: {type: resnet, depth: 50}``, 25.6 M parameters) on
  224x224x3 images, 10 classes, from an in-memory ``.npz`` and from a streamed JPEG folder.

For each it reports images per second over the epochs after the first (the first traces and
compiles), the mean and peak GPU utilisation sampled with ``nvidia-smi`` every 0.5 s, and the
speed-up of mixed precision (float16 compute) and XLA (``jit_compile``) over float32 without
XLA. Whether the input pipeline is the bottleneck: the streamed folder (decode + resize in
``tf.data``) against the same model on in-memory arrays; a ratio near 1 means the GPU is the
limit, well below 1 that the pipeline starves it (and GPU utilisation drops).

Goal (issue 15): mixed precision at least 1.5x on the ResNet.

Without a GPU it says so and exits 2. ``--tiny`` runs every configuration on CPU with a tiny
ResNet-18 at 32x32 and 64 images, to check the script itself (the figures mean nothing).

Usage: python bench/gpu.py [--images 2048] [--epochs 4] [--batch 64] [--tiny] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "dlkit" / "gallery" / "digits-cnn.yaml"

RESNET = """name: bench-gpu-resnet
seed: 0
data:
  source: {source}
  split: {{train: 0.9, dev: 0.1, test: 0.0}}
model: {{type: resnet, depth: {depth}}}
train: {{epochs: {epochs}, batch_size: {batch}, optimizer: {{type: adam, learning_rate: 1.0e-3}}}}
tracking: {{runs_dir: runs}}
"""
# (mixed precision, XLA)
VARIANTS = [(False, False), (True, False), (False, True), (True, True)]


def gpu_names() -> list[str]:
    """The GPUs ``nvidia-smi`` lists (empty without the tool or a GPU)."""
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


class Sampler:
    """GPU utilisation (%) from ``nvidia-smi`` every ``interval`` seconds, in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.splitlines()[0]))

    def __enter__(self) -> Sampler:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def one(recipe_path: str, overrides: list[str]) -> dict[str, Any]:
    """Train one configuration in this process; images/s after the first epoch, GPU use."""
    from dlkit import api

    recipe = api.load_recipe(recipe_path, overrides)
    stamps: list[float] = []
    with Sampler() as sampler:
        start = time.perf_counter()
        result = api.train(
            recipe,
            track=False,
            on_start=lambda _: stamps.append(time.perf_counter()),
            on_epoch=lambda _: stamps.append(time.perf_counter()),
        )
        total = time.perf_counter() - start
    epochs = [b - a for a, b in itertools.pairwise(stamps)]
    steady = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
    n_train = result.split_sizes["train"]
    return {
        "images_per_s": n_train / steady,
        "first_epoch_s": epochs[0],
        "epoch_s": steady,
        "total_s": total,
        "n_train": n_train,
        "dev_error": result.metrics["dev"]["error"],
        "gpu_util_mean": statistics.fmean(sampler.samples) if sampler.samples else None,
        "gpu_util_max": max(sampler.samples) if sampler.samples else None,
    }


def run_child(recipe: Path, overrides: list[str], cwd: Path) -> dict[str, Any]:
    """:func:`one` in a fresh process (a clean mixed-precision policy and GPU memory)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(recipe), *overrides],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(
            f"{recipe.name} {' '.join(overrides)} failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
        )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def make_data(folder: Path, n: int, side: int) -> tuple[Path, Path]:
    """``n`` random RGB images of ``side`` pixels, 10 classes: an ``.npz`` and a JPEG folder."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(n, side, side, 3), dtype=np.uint8)
    y = np.arange(n) % 10
    npz = folder / "images.npz"
    np.savez(npz, x=x, y=y)
    images = folder / "images"
    for i in range(n):
        path = images / f"class{y[i]}" / f"{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i]).save(path, quality=90)
    return npz, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="ResNet training images (random)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per configuration (>= 2)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tiny", action="store_true", help="check the script on CPU: tiny sizes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    gpus = gpu_names()
    if not gpus and not args.tiny:
        print(
            "No GPU found (nvidia-smi missing or lists none): this benchmark measures GPU throughput. "
            "Run it on a machine with an NVIDIA GPU, or with --tiny to check the script on CPU.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    n, side, depth = (64, 32, 18) if args.tiny else (args.images, 224, 50)
    epochs = 2 if args.tiny else max(2, args.epochs)
    print(f"GPU: {', '.join(gpus) or 'none (--tiny on CPU: figures mean nothing)'}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        npz, folder = make_data(work, n, side)
        recipes = {
            "quickstart": QUICKSTART,
            f"resnet{depth} in memory": work / "memory.yaml",
            f"resnet{depth} streamed": work / "streamed.yaml",
        }
        fill = {"depth": depth, "epochs": epochs, "batch": args.batch}
        recipes[f"resnet{depth} in memory"].write_text(
            RESNET.format(source=f"{{type: npz, path: {npz}}}", **fill), encoding="utf-8"
        )
        recipes[f"resnet{depth} streamed"].write_text(
            RESNET.format(
                source=f"{{type: images, path: {folder}, image_size: [{side}, {side}], stream: true}}", **fill
            ),
            encoding="utf-8",
        )
        for name, recipe in recipes.items():
            variants = VARIANTS if "streamed" not in name else [(False, False), (True, True)]
            for mixed, xla in variants:
                overrides = [
                    f"train.mixed_precision={str(mixed).lower()}",
                    f"train.jit_compile={str(xla).lower()}",
                    "tracking.runs_dir=runs",
                ]
                if name == "quickstart":
                    overrides.append(f"train.epochs={epochs}")
                figures = run_child(recipe, overrides, work)
                row = {"config": name, "mixed_precision": mixed, "xla": xla, **figures}
                rows.append(row)
                util = (
                    "-"
                    if row["gpu_util_mean"] is None
                    else f"{row['gpu_util_mean']:.0f}% (max {row['gpu_util_max']:.0f}%)"
                )
                print(
                    f"{name:<20} mixed={'on ' if mixed else 'off'} xla={'on ' if xla else 'off'} "
                    f"{row['images_per_s']:9.0f} images/s  epoch {row['epoch_s']:6.2f} s  "
                    f"first epoch {row['first_epoch_s']:6.1f} s  GPU {util}",
                    flush=True,
                )
    base = {r["config"]: r["images_per_s"] for r in rows if not r["mixed_precision"] and not r["xla"]}
    print("\nspeed-up over float32 without XLA:")
    for r in rows:
        if r["mixed_precision"] or r["xla"]:
            r["speedup"] = r["images_per_s"] / base[r["config"]]
            mixed, xla = r["mixed_precision"], r["xla"]
            print(f"  {r['config']:<20} mixed={mixed!s:<5} xla={xla!s:<5} {r['speedup']:.2f}x")
    memory = {
        (r["mixed_precision"], r["xla"]): r["images_per_s"] for r in rows if r["config"].endswith("in memory")
    }
    streamed = {
        (r["mixed_precision"], r["xla"]): r["images_per_s"] for r in rows if r["config"].endswith("streamed")
    }
    print("\ninput pipeline (streamed JPEG folder / in-memory arrays, same model):")
    for key, value in streamed.items():
        ratio = value / memory[key]
        verdict = "the pipeline keeps up" if ratio >= 0.9 else "the pipeline is the bottleneck"
        print(f"  mixed={key[0]!s:<5} xla={key[1]!s:<5} {ratio:.2f}  ({verdict})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(one(sys.argv[2], sys.argv[3:])))
    else:
        main()
