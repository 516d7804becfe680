"""Benchmark: transfer learning without downloads, on scikit-learn's bundled 8x8 digits.

Task A: digits 0-4, all of them (about 900 images). Task B: digits 5-9 with only
``--per-class`` training images per class; every other 5-9 image is B's test set.

For each seed, one CNN is trained on A and saved; then, on B's small training set, for the
same number of epochs:

- scratch: the same CNN (same spec) from random weights;
- feature extraction: ``model: {type: transfer, base: {path: A.keras, layer: flatten},
  dense: [64]}``: A's frozen convolutions and a new head shaped like the CNN's own;
- fine-tuning: the same with ``freeze: none`` and a 3x lower learning rate.

All are built through :func:`dlkit.models.build_model`, the path ``dlkit train`` takes. Prints
B's test accuracy (mean over seeds, and per seed), how often transfer beats scratch on the
same seed and sample, and the time taken.

Usage: python bench/bench_transfer.py [--per-class 1 2 5] [--seeds 0 1 2 3 4] [--epochs 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlkit._tf import import_tensorflow
from dlkit.models import MODELS, BuildContext, Head, build_model

CNN: dict[str, Any] = {"filters": [32, 64], "dense": [64]}
LR = 3e-3


def _fit(model: Any, x: np.ndarray, y: np.ndarray, lr: float, epochs: int, batch_size: int) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float((model.predict(x, verbose=0).argmax(axis=1) == y).mean())


def _normalizer(x: np.ndarray) -> Any:
    import keras

    layer = keras.layers.Normalization(axis=None, name="normalize")
    layer.adapt(x)
    return layer


def run(seed: int, sizes: list[int], epochs: int, folder: Path) -> dict[tuple[int, str], float]:
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    y = digits.target
    a = y < 5
    keras.utils.set_random_seed(seed)
    source = build_model(MODELS.get("cnn").spec(**CNN), (8, 8, 1), Head(5, "softmax"), _normalizer(x[a]))
    _fit(source, x[a], y[a], LR, 20, 64)
    path = folder / f"a-{seed}.keras"
    source.save(path)

    out: dict[tuple[int, str], float] = {}
    rng = np.random.default_rng(seed)
    b_index = np.flatnonzero(~a)
    for per_class in sizes:
        small = np.concatenate(
            [rng.choice(b_index[y[b_index] == c], per_class, replace=False) for c in range(5, 10)]
        )
        test = np.setdiff1d(b_index, small)
        xb, yb, xt, yt = x[small], y[small] - 5, x[test], y[test] - 5
        keras.utils.set_random_seed(seed)
        scratch = build_model(MODELS.get("cnn").spec(**CNN), (8, 8, 1), Head(5, "softmax"), _normalizer(xb))
        _fit(scratch, xb, yb, LR, epochs, 16)
        out[per_class, "scratch"] = _accuracy(scratch, xt, yt)
        for label, freeze, lr in (("feature extraction", "all", LR), ("fine-tuning", "none", LR / 3)):
            keras.utils.set_random_seed(seed)
            spec = MODELS.get("transfer").spec(
                base={"path": str(path), "layer": "flatten", "freeze": freeze}, dense=CNN["dense"]
            )
            model = build_model(spec, (8, 8, 1), Head(5, "softmax"), context=BuildContext())
            _fit(model, xb, yb, lr, epochs, 16)
            out[per_class, label] = _accuracy(model, xt, yt)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    import_tensorflow()
    started = time.perf_counter()
    table: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for key, value in run(seed, args.per_class, args.epochs, Path(tmp)).items():
                table.setdefault(key, []).append(value)
    print("Digits 5-9, trained on a few images per class; tested on all the other 5-9 images")
    print(f"(A = a CNN trained on digits 0-4; {len(args.seeds)} seeds; {args.epochs} epochs on B)")
    print(f"{'per class':>9}  {'model':<19} {'mean acc':>8}  {'beats scratch':>13}  per seed")
    for per_class in args.per_class:
        scratch = table[per_class, "scratch"]
        for label in ("scratch", "feature extraction", "fine-tuning"):
            values = table[per_class, label]
            wins = (
                ""
                if label == "scratch"
                else f"{sum(v > s for v, s in zip(values, scratch, strict=True))}/{len(values)}"
            )
            per_seed = ", ".join(f"{v:.3f}" for v in values)
            print(f"{per_class:>9}  {label:<19} {statistics.mean(values):8.3f}  {wins:>13}  {per_seed}")
    print(f"time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
