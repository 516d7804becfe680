"""Benchmark: when does transfer learning beat training from scratch? (no downloads: sklearn digits)

Two scenarios, each with a large labelled task A and a small task B on 8x8 digit images:

- ``new-classes``: A = digits 0-4 (all ~900 images, plus their 1-pixel shifts as augmentation);
  B = digits 5-9 with ``--per-class`` labelled images per class, tested on every other 5-9
  image. The classes of B were never seen by A.
- ``new-labels``: A = digits 0-9 on one half of the images; B = odd or even on the other half,
  with ``--per-class`` labelled images per digit, tested on the rest of that half. B's images
  were never seen by A; its labels are a new task over the same kind of input.

For each seed, one CNN is trained on A and saved. Then, on B's small training set and for the
same number of epochs, four models (all built through :func:`dlkit.models.build_model`, the
path ``dlkit train`` takes) start from the same seed and see the same examples:

- scratch: the same CNN from random weights;
- feature extraction: ``{type: transfer, base: {path: A.keras, layer: flatten}, dense: [64]}``,
  A's convolutions frozen, a new head shaped like the CNN's own;
- fine-tuning: the same with ``freeze: none`` and a 3x lower learning rate;
- fine-tuning above block 1: ``until: pool_0`` (the first conv block frozen), 3x lower rate.

Prints B's test accuracy per model (mean and standard deviation over seeds), the paired
difference to scratch (mean, 95% t-interval, and on how many seeds the model won), and the
time taken.

Usage: python bench/bench_transfer.py [--scenario new-classes new-labels] [--per-class 1 2 5]
           [--seeds 0 1 ... 9] [--epochs 60] [--base-epochs 30]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlkit._tf import import_tensorflow
from dlkit.models import MODELS, BuildContext, Head, build_model

CNN: dict[str, Any] = {"filters": [32, 64], "dense": [64]}
LR = 3e-3
ARMS = ("scratch", "feature extraction", "fine-tuning", "fine-tune > block 1")
# two-sided 95% Student t quantiles by degrees of freedom (scipy is not needed for these)
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23,
       11: 2.20, 12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 19: 2.09, 29: 2.05}  # fmt: skip


def _t95(df: int) -> float:
    return T95.get(df) or T95[max(k for k in T95 if k <= df)]


def shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by (dy, dx) pixels, zero-filled."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def augmented(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images and their four 1-pixel shifts."""
    moves = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    return np.concatenate([shifted(x, dy, dx) for dy, dx in moves]), np.tile(y, len(moves))


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


Task = tuple[np.ndarray, np.ndarray, int]  # images, labels, number of classes


def new_classes(x: np.ndarray, digit: np.ndarray, seed: int) -> tuple[Task, Task, np.ndarray]:
    """A: digits 0-4 (augmented); B: digits 5-9 labelled 0-4; B's sampling strata = digits."""
    a = digit < 5
    xa, ya = augmented(x[a], digit[a])
    return (xa, ya, 5), (x[~a], digit[~a] - 5, 5), digit[~a]


def new_labels(x: np.ndarray, digit: np.ndarray, seed: int) -> tuple[Task, Task, np.ndarray]:
    """A: digits 0-9 on one half (augmented); B: odd/even on the other half; strata = digits."""
    half = np.random.default_rng(10_000 + seed).permutation(len(x)) < len(x) // 2
    xa, ya = augmented(x[half], digit[half])
    return (xa, ya, 10), (x[~half], digit[~half] % 2, 2), digit[~half]


SCENARIOS: dict[str, Callable[[np.ndarray, np.ndarray, int], tuple[Task, Task, np.ndarray]]] = {
    "new-classes": new_classes,
    "new-labels": new_labels,
}


def run(
    scenario: str, seed: int, sizes: list[int], epochs: int, base_epochs: int, folder: Path
) -> dict[tuple[int, str], float]:
    """Test accuracy on B of every arm and size, for one seed."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    (xa, ya, na), (xb_all, yb_all, nb), strata = SCENARIOS[scenario](x, digits.target, seed)
    keras.utils.set_random_seed(seed)
    source = build_model(MODELS.get("cnn").spec(**CNN), (8, 8, 1), Head(na, "softmax"), _normalizer(xa))
    _fit(source, xa, ya, LR, base_epochs, 64)
    path = folder / f"{scenario}-{seed}.keras"
    source.save(path)

    out: dict[tuple[int, str], float] = {}
    rng = np.random.default_rng(seed)
    for per_class in sizes:
        small = np.concatenate(
            [rng.choice(np.flatnonzero(strata == s), per_class, replace=False) for s in np.unique(strata)]
        )
        test = np.setdiff1d(np.arange(len(yb_all)), small)
        xb, yb, xt, yt = xb_all[small], yb_all[small], xb_all[test], yb_all[test]
        head = Head(nb, "softmax")
        keras.utils.set_random_seed(seed)
        scratch = build_model(MODELS.get("cnn").spec(**CNN), (8, 8, 1), head, _normalizer(xb))
        _fit(scratch, xb, yb, LR, epochs, 16)
        out[per_class, "scratch"] = _accuracy(scratch, xt, yt)
        rules: list[tuple[str, dict[str, Any], float]] = [
            ("feature extraction", {"freeze": "all"}, LR),
            ("fine-tuning", {"freeze": "none"}, LR / 3),
            ("fine-tune > block 1", {"until": "pool_0"}, LR / 3),
        ]
        for label, rule, lr in rules:
            keras.utils.set_random_seed(seed)
            spec = MODELS.get("transfer").spec(
                base={"path": str(path), "layer": "flatten", **rule}, dense=CNN["dense"]
            )
            model = build_model(spec, (8, 8, 1), head, context=BuildContext())
            _fit(model, xb, yb, lr, epochs, 16)
            out[per_class, label] = _accuracy(model, xt, yt)
    return out


def report(scenario: str, table: dict[tuple[int, str], list[float]], sizes: list[int], n_seeds: int) -> None:
    unit = "class" if scenario == "new-classes" else "digit"
    print(f"\n== {scenario}: {SCENARIOS[scenario].__doc__}")
    print(f"{'per ' + unit:>9}  {'model':<20} {'accuracy':>15}  {'vs scratch (paired)':>26}  {'wins':>6}")
    for per_class in sizes:
        scratch = np.asarray(table[per_class, "scratch"])
        for label in ARMS:
            values = np.asarray(table[per_class, label])
            spread = f"{values.mean():.3f} ± {values.std(ddof=1) if n_seeds > 1 else 0:.3f}"
            if label == "scratch":
                print(f"{per_class:>9}  {label:<20} {spread:>15}")
                continue
            diff = values - scratch
            half = _t95(n_seeds - 1) * diff.std(ddof=1) / math.sqrt(n_seeds) if n_seeds > 1 else math.nan
            paired = f"{diff.mean():+.3f} [{diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}]"
            wins = f"{int((diff > 0).sum())}/{n_seeds}"
            print(f"{per_class:>9}  {label:<20} {spread:>15}  {paired:>26}  {wins:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--per-class", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--epochs", type=int, default=60, help="Epochs on B (every model).")
    parser.add_argument("--base-epochs", type=int, default=30, help="Epochs on A.")
    args = parser.parse_args()
    import_tensorflow()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenario:
            table: dict[tuple[int, str], list[float]] = {}
            for seed in args.seeds:
                result = run(scenario, seed, args.per_class, args.epochs, args.base_epochs, Path(tmp))
                for key, value in result.items():
                    table.setdefault(key, []).append(value)
            report(scenario, table, args.per_class, len(args.seeds))
    print(
        f"\nB's test accuracy: mean ± sd over {len(args.seeds)} seeds; vs scratch: mean paired difference "
        "[95% t-interval]; wins: seeds where the model beat scratch on the same sample."
    )
    print(f"time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
