"""Benchmark: `dlkit split` on a 1,000,000-row CSV, and a streamed image folder growing 10x.

1. Generates a CSV (id, 8 numeric features, a source column, a label) and, each in a fresh
   Python process, measures wall time and peak memory of
   - ``pandas.read_csv`` of the file alone (the baseline), and
   - the whole split as ``dlkit split`` runs it: read, validate, hash every row, assign sets,
     look for duplicates across sets, test dev against test, write the manifest;
   once loading the table whole and once streamed (``stream: true``: read in chunks, features
   never kept). Memory is the peak resident size minus the size after imports, so the figure
   is what the data costs, not the libraries. Goal: at most 1.5x the time, 2x the memory.
2. Generates folders of N and 10N PNG images and measures the peak memory of splitting the
   folder and reading the train set once through the ``tf.data`` stream, against loading it
   whole. Streamed memory should stay flat as the folder grows.

Usage: python bench/bench_split.py [--rows 1000000] [--images 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

_MEASURE = """
import json, resource, sys, time

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

{imports}
base = rss_mb()
start, cpu = time.perf_counter(), time.process_time()
{work}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"s": elapsed, "cpu_s": cpu, "peak_mb": peak, "base_mb": base, "data_mb": peak - base}}))
"""


def measure(imports: str, work: str, cwd: Path) -> dict[str, float]:
    code = _MEASURE.format(imports=textwrap.dedent(imports), work=textwrap.dedent(work))
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "s": statistics.median(r["s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "data_mb": statistics.median(r["data_mb"] for r in runs),
    }


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(rows)})
    for k in range(8):
        frame[f"f{k}"] = rng.normal(size=rows).round(5)
    frame["source"] = np.where(rng.random(rows) < 0.05, "phone", "web")
    frame["label"] = rng.integers(0, 10, size=rows)
    frame.to_csv(path, index=False)


RECIPE = """
name: bench
data:
  source: {{type: csv, path: big.csv, target: label, id_column: id, metadata: [source], stream: {stream}}}
model: {{type: mlp}}
"""

SPLIT_IMPORTS = """
from pathlib import Path
import pandas, pyarrow.parquet, scipy.stats
from dlkit import api
from dlkit.data.summary import write_split_files
recipe = api.load_recipe("recipe-{stream}.yaml")
"""
SPLIT_WORK = """
outcome = api.split(recipe)
summary = outcome.summary()
write_split_files(Path("out/manifest.parquet"), outcome.split, outcome.data)
"""


def bench_table(folder: Path, rows: int, repeats: int) -> None:
    path = folder / "big.csv"
    make_csv(path, rows)
    print(f"CSV: {rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB (id, 8 features, source, label)")
    labels = {"false": "dlkit split (loaded whole)", "true": "dlkit split (streamed)"}
    runs: dict[str, list[dict[str, float]]] = {"pandas.read_csv alone": []}
    runs.update({label: [] for label in labels.values()})
    for stream in labels:
        (folder / f"recipe-{stream}.yaml").write_text(RECIPE.format(stream=stream))
    # one round after another (not all of one kind first): a shared machine's load drifts
    for _ in range(repeats):
        runs["pandas.read_csv alone"].append(measure("import pandas as pd", "pd.read_csv('big.csv')", folder))
        for stream, label in labels.items():
            runs[label].append(measure(SPLIT_IMPORTS.format(stream=stream), SPLIT_WORK, folder))
    results = {label: best(r) for label, r in runs.items()}
    base = results["pandas.read_csv alone"]
    print(
        f"{'':30} {'time s':>8} {'x read_csv':>11} {'CPU s':>8} {'x read_csv':>11} "
        f"{'memory MiB':>11} {'x read_csv':>11}"
    )
    for label, r in results.items():
        print(
            f"{label:30} {r['s']:8.2f} {r['s'] / base['s']:11.2f} {r['cpu_s']:8.2f} "
            f"{r['cpu_s'] / base['cpu_s']:11.2f} {r['data_mb']:11.0f} {r['data_mb'] / base['data_mb']:11.2f}"
        )
    print("goal: at most 1.5x the time and 2x the memory of read_csv alone (medians; CPU s: all threads)")


IMAGE_IMPORTS = """
from pathlib import Path
import numpy as np
from dlkit._tf import import_tensorflow
import_tensorflow()
import PIL.Image, scipy.stats
from dlkit import api
from dlkit.data.pipeline import make_stream
recipe = api.load_recipe("images.yaml")
"""
IMAGE_WORK = """
outcome = api.split(recipe)
train = outcome.split.indices("train")
if outcome.data.stream:
    n = sum(len(y) for _, y in make_stream(outcome.data, train, 64, shuffle=True).as_numpy_iterator())
else:
    n = sum(len(y) for _, y in make_stream.__globals__["make_dataset"](
        outcome.data.x[train], outcome.data.y[train], 64, shuffle=True).as_numpy_iterator())
assert n == len(train)
"""


def make_images(root: Path, n: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        path = root / f"class{i % 4}" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, size=(96, 96, 3), dtype=np.uint8)).save(path)


def bench_images(folder: Path, n: int) -> None:
    print(
        "\nImage folders of 96x96 PNGs resized to 96x96 RGB; split, then one pass over train (batches of 64)"
    )
    print(f"{'images':>8} {'mode':>14} {'time s':>8} {'memory MiB':>11}")
    for size in (n, 10 * n):
        root = folder / f"imgs{size}"
        make_images(root, size)
        for stream in ("true", "false"):
            (folder / "images.yaml").write_text(
                f"name: b\ndata:\n  source: {{type: images, path: {root.name}, image_size: [96, 96], "
                f"stream: {stream}}}\n"
                # not stratified: a small --images run has too few images per class to stratify
                "  split: {stratify: false}\nmodel: {type: mlp}\n"
            )
            r = measure(IMAGE_IMPORTS, IMAGE_WORK, folder)
            mode = "streamed" if stream == "true" else "loaded whole"
            print(f"{size:8,} {mode:>14} {r['s']:8.2f} {r['data_mb']:11.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "out").mkdir()
        bench_table(folder, args.rows, args.repeats)
        bench_images(folder, args.images)


if __name__ == "__main__":
    main()
