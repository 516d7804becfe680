"""Benchmark: scoring a face-verification set, by its size: pairs, τ, ROC AUC, nearest examples.

A verification run scores each set from its embeddings (:mod:`dlkit.analysis.embedding`): every
positive pair and as many sampled negatives, τ chosen for the best pair accuracy, the pairs' ROC
AUC, and each example's nearest other example with its hardest positive and negative. This times
each step on generated unit embeddings (32 dimensions, identities drawn uniformly), in seconds,
and its peak of traced memory (``tracemalloc``, in a second pass: tracing slows Python down), for
the Euclidean and the L1 (pair classifier) metric.

Before and after: ``--code`` names checkouts; each size runs in its own process per checkout,
checkouts in turn. ``--old-limit`` skips sizes above it for every checkout but the last (the
code before this change held ``n²/2`` pairs and a positives-by-negatives table: 20,000 examples
would need about 30 GB).

Usage: python bench/bench_verification.py [--sizes 2000,5000,20000] [--identities 10]
       [--code BEFORE --code .] [--old-limit 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(n: int, per_identity: int, metric: str) -> dict[str, tuple[float, float]]:
    """Seconds and peak traced MiB of each step, for ``n`` examples of ``per_identity`` each."""
    import tracemalloc

    import numpy as np

    from dlkit.analysis import embedding as emb

    rng = np.random.default_rng(0)
    y = rng.integers(0, max(1, n // per_identity), n)
    e = rng.normal(size=(n, 32))
    e /= np.linalg.norm(e, axis=1, keepdims=True)

    def steps() -> list[tuple[str, object]]:
        pairs = emb.verification_pairs(y, 0, 1)
        d = emb.pair_distances(e, pairs, metric)  # type: ignore[arg-type]
        return [
            ("pairs", lambda: emb.verification_pairs(y, 0, 1)),
            ("threshold", lambda: emb.choose_threshold(d, pairs.same)),
            ("roc_auc", lambda: emb.roc_auc(d, pairs.same)),
            ("nearest", lambda: emb.nearest(e, y, metric)),  # type: ignore[arg-type]
        ]

    out: dict[str, tuple[float, float]] = {}
    for name, step in steps():
        start = time.perf_counter()
        step()  # type: ignore[operator]
        seconds = time.perf_counter() - start
        tracemalloc.start()
        step()  # type: ignore[operator]
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out[name] = (seconds, peak)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,20000")
    parser.add_argument("--identities", type=int, default=10, help="examples per identity")
    parser.add_argument("--metrics", default="euclidean,l1")
    parser.add_argument("--code", action="append", help="a checkout measured (repeat to compare)")
    parser.add_argument("--old-limit", type=int, default=5000)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # n,metric: measure in this process
    args = parser.parse_args()
    if args.one:
        n, metric = args.one.split(",")
        print(json.dumps(measure(int(n), args.identities, metric)))
        return
    codes = args.code or [str(ROOT)]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.identities} examples per identity; s / peak MiB")
    print(
        f"{'code':>22} {'n':>7} {'metric':>9} "
        + " ".join(f"{s:>18}" for s in ("pairs", "threshold", "roc_auc", "nearest"))
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for metric in args.metrics.split(","):
            for k, code in enumerate(codes):
                if n > args.old_limit and k < len(codes) - 1:
                    continue
                env = {**os.environ, "PYTHONPATH": str(Path(code).resolve())}
                cmd = [
                    sys.executable,
                    __file__,
                    "--one",
                    f"{n},{metric}",
                    "--identities",
                    str(args.identities),
                ]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{code:>22} {n:>7} {metric:>9} failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                row = json.loads(done.stdout)
                cells = " ".join(
                    f"{row[s][0]:>8.3f} / {row[s][1]:>6.0f}"
                    for s in ("pairs", "threshold", "roc_auc", "nearest")
                )
                print(f"{code[-22:]:>22} {n:>7} {metric:>9} {cells}", flush=True)


if __name__ == "__main__":
    main()
