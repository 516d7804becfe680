"""Benchmark: `dlkit train` for one epoch on an image folder growing 10x, streamed vs loaded whole.

Generates folders of N and 10N PNG images (4 classes) and, each in a fresh Python process,
runs the whole of ``dlkit train`` (split, normaliser adapted on train, one epoch of a small
CNN, dev validation, predictions of every set written to Parquet) with ``stream: true`` and
with ``stream: false``. Memory is the peak resident size minus the size after imports, so the
figure is what the data and the training cost, not the libraries. Streamed memory should stay
flat as the folder grows; loaded whole it grows with the decoded images.

Usage: python bench/bench_stream_train.py [--images 300] [--size 64] [--repeats 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_split import measure  # a script beside this one, not a package

IMPORTS = """
from dlkit._tf import import_tensorflow
import_tensorflow()
import keras, PIL.Image, pyarrow.parquet, scipy.stats
from dlkit import api
recipe = api.load_recipe("train.yaml")
"""
WORK = """
result = api.train(recipe, track=False)
assert result.epochs_run == 1 and result.metrics["train"]["n"] == result.split_sizes["train"]
"""

RECIPE = """name: bench-stream
seed: 0
data:
  source: {{type: images, path: {folder}, image_size: [{size}, {size}], stream: {stream}}}
  split: {{train: 0.8, dev: 0.1, test: 0.1, stratify: false}}
model: {{type: cnn, filters: [4], dense: [8]}}
train: {{epochs: 1, batch_size: 64, optimizer: {{type: adam, learning_rate: 0.001}}}}
tracking: {{runs_dir: runs}}
"""


def make_images(root: Path, n: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        path = root / f"class{i % 4}" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="the small folder; the large is 10x")
    parser.add_argument("--size", type=int, default=64, help="image height and width (RGB)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(
        f"dlkit train, 1 epoch, {args.size}x{args.size} RGB PNGs, small CNN, batches of 64 "
        f"(median of {args.repeats}; memory = peak RSS - RSS after imports)"
    )
    print(f"{'images':>8} {'mode':>14} {'time s':>8} {'memory MiB':>11} {'decoded MiB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (args.images, 10 * args.images):
            make_images(folder / f"imgs{n}", n, args.size)
            decoded = n * args.size * args.size * 3 * 4 / 2**20
            for stream in ("true", "false"):
                (folder / "train.yaml").write_text(
                    RECIPE.format(folder=f"imgs{n}", size=args.size, stream=stream)
                )
                runs = [measure(IMPORTS, WORK, folder) for _ in range(args.repeats)]
                s = statistics.median(r["s"] for r in runs)
                mb = statistics.median(r["data_mb"] for r in runs)
                mode = "streamed" if stream == "true" else "loaded whole"
                print(f"{n:8,} {mode:>14} {s:8.2f} {mb:11.0f} {decoded:12.0f}")


if __name__ == "__main__":
    main()
