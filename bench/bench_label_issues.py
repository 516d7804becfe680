"""Benchmark: suspected-label-error detection on planted label noise (issue 7).

Plants label noise on scikit-learn's bundled digits (5, 10 and 20%, uniform and
class-dependent), gets out-of-sample probabilities by 5-fold cross-validation, flags suspected
label errors with :func:`dlkit.analysis.label_issues.flag_label_issues` (cleanlab confident
learning) and prints precision and recall of the flagged list against the planted errors, next
to the naive "prediction != label" baseline. Averages over seeds.

    python bench/bench_label_issues.py [--seeds 3] [--model svc|logreg|keras-mlp|keras-cnn]

With ``svc`` or ``logreg`` the classifier is a scikit-learn one, so the benchmark runs in
seconds and measures the flagging step given out-of-sample probabilities. ``keras-mlp`` and
``keras-cnn`` measure the path ``dlkit analyze-errors RUN --folds 5`` takes: the probabilities
come from :func:`dlkit.training.cross_val.cross_val_probabilities`, which retrains a recipe's
Keras model (dlkit's registry, compile, fit and train-only normalisation) once per fold.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import SVC

from dlkit.analysis.label_issues import flag_label_issues, precision_recall

N_CLASSES = 10


def plant_uniform(y: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each label flips with probability ``rate`` to one of the other classes, uniformly."""
    noisy = y.copy()
    wrong = rng.uniform(size=len(y)) < rate
    noisy[wrong] = (y[wrong] + rng.integers(1, N_CLASSES, int(wrong.sum()))) % N_CLASSES
    return noisy


def plant_class_dependent(y: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Flip rates differ by class (0.5x to 1.5x ``rate``, mean ``rate``); a flipped label goes to
    one partner class 70% of the time (systematic confusions such as 1 -> 7), else anywhere."""
    per_class = rate * np.linspace(0.5, 1.5, N_CLASSES)[rng.permutation(N_CLASSES)]
    partner = (np.arange(N_CLASSES) + rng.integers(1, N_CLASSES, N_CLASSES)) % N_CLASSES
    noisy = y.copy()
    wrong = rng.uniform(size=len(y)) < per_class[y]
    idx = np.flatnonzero(wrong)
    to_partner = rng.uniform(size=len(idx)) < 0.7
    noisy[idx[to_partner]] = partner[y[idx[to_partner]]]
    rest = idx[~to_partner]
    noisy[rest] = (y[rest] + rng.integers(1, N_CLASSES, len(rest))) % N_CLASSES
    return noisy


KERAS_MODELS = {
    # a small MLP and a small CNN on the 8x8 images, as a recipe would name them
    "keras-mlp": {"type": "mlp", "units": [64], "dropout": 0.2},
    "keras-cnn": {"type": "cnn", "filters": [16, 32], "dense": [64], "dropout": 0.2},
}


def keras_probabilities(name: str, noisy: np.ndarray, seed: int, folds: int, epochs: int) -> np.ndarray:
    """5-fold out-of-sample probabilities from a recipe's Keras model, through dlkit's own path."""
    from dataclasses import replace

    from dlkit.data.sources import load_source
    from dlkit.recipe.schema import Recipe
    from dlkit.training.cross_val import cross_val_probabilities

    recipe = Recipe.model_validate(
        {
            "name": "bench",
            "seed": seed,
            "data": {"source": {"type": "sklearn", "name": "digits"}},
            "model": KERAS_MODELS[name],
            "train": {
                "epochs": epochs,
                "batch_size": 64,
                "optimizer": {"type": "adam", "learning_rate": 0.003},
            },
        }
    )
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd())
    data = replace(data, y=noisy.astype(data.y.dtype))
    pool = np.arange(data.n_examples)
    return cross_val_probabilities(recipe, data, pool, np.zeros(0, dtype=np.int64), folds).probs


def make_model(name: str, seed: int):
    if name == "svc":
        # scikit-learn's recommended replacement for SVC(probability=True)
        return CalibratedClassifierCV(SVC(random_state=seed), ensemble=False)
    return LogisticRegression(C=0.1, max_iter=300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--model", choices=["svc", "logreg", *KERAS_MODELS], default="svc")
    parser.add_argument("--epochs", type=int, default=30, help="Keras models: epochs per fold.")
    parser.add_argument("--rates", default="0.05,0.10,0.20", help="Noise rates, comma-separated.")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    print(
        f"digits: {len(y)} examples, {N_CLASSES} classes; model {args.model}; 5-fold out-of-sample "
        f"probabilities; mean over {args.seeds} seed(s)"
    )
    header = (
        f"{'noise':<16}{'rate':>6}{'oos acc':>9}{'(true)':>8}{'flagged':>9}{'precision':>11}{'recall':>8}"
        f"{'base prec':>11}{'base rec':>10}{'s':>6}"
    )
    print(header)
    print("-" * len(header))
    for kind, plant in (("uniform", plant_uniform), ("class-dependent", plant_class_dependent)):
        for rate in rates:
            figures = []
            started = time.perf_counter()
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                noisy = plant(y, rate, rng)
                truly = np.flatnonzero(noisy != y)
                if args.model in KERAS_MODELS:
                    probs = keras_probabilities(args.model, noisy, seed, 5, args.epochs)
                else:
                    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
                    probs = cross_val_predict(
                        make_model(args.model, seed), x, noisy, cv=folds, method="predict_proba"
                    )
                flagged = flag_label_issues(noisy, probs)
                baseline = np.flatnonzero(probs.argmax(axis=1) != noisy)
                figures.append(
                    (
                        (probs.argmax(axis=1) == noisy).mean(),
                        (probs.argmax(axis=1) == y).mean(),
                        len(flagged),
                        *precision_recall(flagged, truly),
                        *precision_recall(baseline, truly),
                    )
                )
            acc, acc_true, n_flagged, p, r, bp, br = np.mean(figures, axis=0)
            took = (time.perf_counter() - started) / args.seeds
            print(
                f"{kind:<16}{rate:>6.0%}{acc:>9.3f}{acc_true:>8.3f}{n_flagged:>9.0f}{p:>11.3f}{r:>8.3f}{bp:>11.3f}{br:>10.3f}"
                f"{took:>6.1f}"
            )
    print("\noos acc: out-of-sample accuracy against the given (noisy) labels; (true): against the clean")
    print("labels. precision / recall: of the flagged list against the planted errors; base: of the")
    print("'prediction != label' list.")


if __name__ == "__main__":
    main()
