"""Random search on log scales against a grid, and Hyperband's epoch bill (METHODOLOGY §5).

Two CPU cores are shared, so trials are not retrained per seed. One *response table* is measured
once with dlkit's own trial code (an MLP on the bundled digits, 9 epochs, dev accuracy after
every epoch) over 16 learning rates (log-spaced in [1e-5, 1]) x 3 widths (8, 24, 64); every search
then reads its trials from the table (accuracy linear in log10(lr) between measured points,
nearest measured width on a log scale). The samplers, grids and coarse-to-fine narrowing are
dlkit's own (``dlkit.tuning.space``); Hyperband is keras-tuner's own oracle.

    python bench/bench_tune.py                       # builds bench/.tune_table.csv (minutes) once
    python bench/bench_tune.py --seeds 30 --budget 27

Figures printed: for grid, random on linear scales, random on log scales and coarse to fine
(2 rounds), the share of seeds whose best trial is within 1 point of the best a long random
search finds (2,000 log-scale draws), and the median number of trials needed to get there;
then Hyperband's total epochs to reach the same quality against random search at full epochs.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlkit.tuning.space import Dimension, narrow
from dlkit.tuning.spec import DimensionSpec

LRS = np.logspace(-5, 0, 16)
WIDTHS = (8, 24, 64)
EPOCHS = 9
TABLE = Path(__file__).with_name(".tune_table.csv")


def build_table(path: Path) -> pd.DataFrame:
    """Train every (lr, width) once through dlkit's trial code; dev accuracy after each epoch."""
    from dlkit.data.sources import load_source
    from dlkit.data.split import split_dataset
    from dlkit.recipe.loader import validate_recipe
    from dlkit.rundir import RunDir
    from dlkit.tuning.trial import StudyData, train_trial

    base = {
        "name": "bench-tune",
        "seed": 0,
        "data": {
            "source": {"type": "sklearn", "name": "digits"},
            "split": {"train": 0.6, "dev": 0.2, "test": 0.2},
        },
        "model": {"type": "mlp", "units": [8]},
        "train": {"epochs": EPOCHS, "batch_size": 128, "optimizer": {"type": "sgd", "learning_rate": 0.01}},
    }
    recipe = validate_recipe(base, "bench", Path.cwd())
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd())
    study = StudyData(data, split_dataset(data, recipe.data.split, recipe.seed))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, lr in enumerate(LRS):
            for width in WIDTHS:
                spec = {**base, "model": {"type": "mlp", "units": [width]}}
                spec["train"] = {**base["train"], "optimizer": {"type": "sgd", "learning_rate": float(lr)}}
                trial = validate_recipe(spec, "bench", Path.cwd())
                try:
                    out = train_trial(trial, study, RunDir(Path(tmp) / f"{i}-{width}"))
                    curve = [h.get("val_accuracy", 0.0) for h in out.history]
                except Exception:  # a diverged trial scores chance level
                    curve = [0.1] * EPOCHS
                curve = [c if math.isfinite(c) else 0.1 for c in curve]
                rows.append({"lr": lr, "width": width, **{f"acc_{e + 1}": c for e, c in enumerate(curve)}})
                print(f"lr {lr:.2e} width {width:3d}: dev accuracy {curve[-1]:.3f}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


class Response:
    """Dev accuracy of (lr, width) after ``epochs``, read from the table."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.log_lrs = np.log10(LRS)
        self.acc = {
            (w, e): table[table["width"] == w].sort_values("lr")[f"acc_{e}"].to_numpy()
            for w in WIDTHS
            for e in range(1, EPOCHS + 1)
        }

    def __call__(self, lr: float, width: float, epochs: int = EPOCHS) -> float:
        nearest = min(WIDTHS, key=lambda w: abs(math.log(w) - math.log(max(width, 1))))
        return float(np.interp(math.log10(lr), self.log_lrs, self.acc[(nearest, epochs)]))


def dims(lr_kind: str) -> list[Dimension]:
    lr = {"log": [1e-5, 1.0]} if lr_kind == "log" else {"uniform": [1e-5, 1.0]}
    return [
        Dimension("lr", DimensionSpec.model_validate(lr)),
        Dimension("width", DimensionSpec.model_validate({"int": [8, 64], "scale": "log"})),
    ]


def random_search(f: Response, rng: np.random.Generator, n: int, lr_kind: str) -> list[float]:
    lr_dim, w_dim = dims(lr_kind)
    return [f(lr, w) for lr, w in zip(lr_dim.sample(n, rng), w_dim.sample(n, rng), strict=True)]


def grid_search(f: Response, rng: np.random.Generator, n: int) -> list[float]:
    """A grid as a careful user would set it: log-spaced learning rates x widths, in random order."""
    side = math.isqrt(n)
    lr_dim, w_dim = dims("log")
    points = [(lr, w) for lr in lr_dim.grid(side) for w in w_dim.grid(side)]
    # the values fall on the same points for every seed; only the order differs
    order = rng.permutation(len(points))
    return [f(*points[i]) for i in order]


def coarse_to_fine(f: Response, rng: np.random.Generator, n: int) -> list[float]:
    first = n // 2
    lr_dim, w_dim = dims("log")
    lrs, ws = lr_dim.sample(first, rng), w_dim.sample(first, rng)
    scores = [f(lr, w) for lr, w in zip(lrs, ws, strict=True)]
    top = np.argsort(scores)[::-1][:5]
    best = int(top[0])
    lr2 = Dimension("lr", narrow(lr_dim, [lrs[i] for i in top], lrs[best], 0.1).spec)
    w2 = Dimension("width", narrow(w_dim, [ws[i] for i in top], ws[best], 0.1).spec)
    rest = n - first
    return scores + [f(lr, w) for lr, w in zip(lr2.sample(rest, rng), w2.sample(rest, rng), strict=True)]


def trials_to_reach(scores: list[float], target: float) -> float:
    for i, s in enumerate(scores, start=1):
        if s >= target:
            return i
    return math.inf


def hyperband_epochs(f: Response, seed: int, target: float, max_epochs: int = EPOCHS) -> tuple[float, int]:
    """Run keras-tuner's Hyperband oracle on the table; epochs spent until a trial reaches ``target``."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Float("lr", 1e-5, 1.0, sampling="log")
    hp.Int("width", 8, 64, sampling="log")
    oracle = keras_tuner.oracles.HyperbandOracle(
        objective=keras_tuner.Objective("acc", "max"),
        max_epochs=max_epochs,
        factor=3,
        hyperparameters=hp,
        seed=seed,
    )
    oracle.verbose = 0
    with tempfile.TemporaryDirectory() as tmp:
        oracle._set_project_dir(tmp, "hb")
        spent, reached = 0, math.inf
        while True:
            trial = oracle.create_trial("bench")
            if trial.status == "STOPPED":
                break
            if trial.status == "IDLE":
                continue
            v = trial.hyperparameters.values
            # a promoted trial continues from its parent's weights: it costs the extra epochs only
            spent += v["tuner/epochs"] - v.get("tuner/initial_epoch", 0)
            score = f(v["lr"], v["width"], v["tuner/epochs"])
            if score >= target and math.isinf(reached):
                reached = spent
            oracle.update_trial(trial.trial_id, {"acc": score})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
    return reached, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budget", type=int, default=27)
    parser.add_argument("--table", type=Path, default=TABLE)
    args = parser.parse_args()
    table = pd.read_csv(args.table) if args.table.is_file() else build_table(args.table)
    f = Response(table)
    reference = max(random_search(f, np.random.default_rng(10_000), 2000, "log"))
    target = reference - 0.01
    print(f"Response table: {len(table)} trainings ({args.table})")
    print(f"Best of a 2,000-draw random search on log scales: {reference:.4f}")
    print(f"Target: within 1 point, dev accuracy >= {target:.4f}; budget {args.budget}; {args.seeds} seeds\n")
    strategies = {
        "grid (5 x 5, log lr)": lambda rng: grid_search(f, rng, 25),
        "random, linear scales": lambda rng: random_search(f, rng, args.budget, "linear"),
        "random, log scales": lambda rng: random_search(f, rng, args.budget, "log"),
        "coarse to fine (2 rounds)": lambda rng: coarse_to_fine(f, rng, args.budget),
    }
    print(f"{'strategy':28s} {'within 1 pt':>12s} {'median trials':>14s} {'median best':>12s}")
    for name, run in strategies.items():
        reached, bests = [], []
        for seed in range(args.seeds):
            scores = run(np.random.default_rng(seed))
            reached.append(trials_to_reach(scores, target))
            bests.append(max(scores))
        share = np.mean([math.isfinite(r) for r in reached])
        median = float(np.median(reached))
        shown = f"{median:.0f}" if math.isfinite(median) else f"> {len(scores)}"
        print(f"{name:28s} {share:12.0%} {shown:>14s} {np.median(bests):12.4f}")

    print("\nEpochs to reach the target (Hyperband: keras-tuner's oracle, max 9 epochs, factor 3):")
    hb, rs = [], []
    for seed in range(args.seeds):
        reached, _ = hyperband_epochs(f, seed, target)
        hb.append(reached)
        rs.append(trials_to_reach(random_search(f, np.random.default_rng(seed), 200, "log"), target) * EPOCHS)
    for name, values in (("hyperband", hb), ("random log, 9 epochs each", rs)):
        share = np.mean([math.isfinite(v) for v in values])
        print(f"{name:28s} reached in {share:.0%} of seeds; median epochs {np.median(values):.0f}")


if __name__ == "__main__":
    main()
