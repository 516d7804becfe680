"""Random search on log scales against a grid, and Hyperband's epoch bill (docs/method.md §5).

The task: Adam on the bundled digits (an MLP with 32 units, batch 64, 9 epochs, the split
train 0.6 / dev 0.2 / test 0.2 with seed 0), searched over two hyperparameters:

- the learning rate, which matters a lot: ``log [1e-5, 1]``; its optimum (dev accuracy ~0.97 at
  1e-2..3e-2) lies well inside the range, two decades from the top edge;
- Adam's beta_1, which matters little (about a point at the optimum): ``one_minus_log [0.8, 0.99]``.

Two CPU cores are shared, so trials are not retrained per seed. A *response table* is measured
once with dlkit's own trial code (:func:`dlkit.tuning.trial.train_trial`: the registry model, the
recipe's optimizer, the tf.data pipeline): 36 learning rates log-spaced in [1e-5, 1] x 3 values of
beta_1 (0.8, 0.955, 0.99: log-spaced in 1 - beta_1) x 2 training seeds (weights and shuffling; the
split stays fixed), dev accuracy after every epoch. It is committed as ``bench/tune_table.csv``;
``--build`` measures it again (about 10 minutes on one core). Every search then reads its trials
from the table: accuracy linear in log10(lr) between measured rates, the nearest measured beta_1
on the 1 - beta_1 log scale. By default a trial scores the mean over the training seeds; with
``--noise`` each trial sees one training seed drawn at random, as a user would.

The samplers, grids and coarse-to-fine narrowing are dlkit's own (``dlkit.tuning.space``);
Hyperband is keras-tuner's own oracle.

    python bench/bench_tune.py                         # figures from the committed table
    python bench/bench_tune.py --noise                 # trials see one training seed each
    python bench/bench_tune.py --build                 # re-measure the table first (minutes)

Figures printed: for grid (5 x 5), random on linear scales, random on log scales and coarse to
fine (2 rounds), over ``--seeds`` search seeds with ``--budget`` trials: the share of seeds whose
best trial is within 1 point of the best a long random search finds (2,000 log-scale draws), the
median number of trials needed to get there, and the median best; then Hyperband's total epochs
to reach the same quality against random search at full epochs.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlkit.tuning.space import Dimension, narrow
from dlkit.tuning.spec import DimensionSpec

LRS = np.logspace(-5, 0, 36)
BETAS = tuple(float(1 - b) for b in np.logspace(math.log10(0.2), math.log10(0.01), 3))  # 0.8 .. 0.99
TRAIN_SEEDS = (1, 2)
EPOCHS = 9
LR_RANGE = (1e-5, 1.0)
BETA_RANGE = (0.8, 0.99)
TABLE = Path(__file__).with_name("tune_table.csv")
BASE = {
    "name": "bench-tune",
    "seed": 0,
    "data": {
        "source": {"type": "sklearn", "name": "digits"},
        "split": {"train": 0.6, "dev": 0.2, "test": 0.2},
    },
    "model": {"type": "mlp", "units": [32]},
    "train": {"epochs": EPOCHS, "batch_size": 64, "optimizer": {"type": "adam", "learning_rate": 1e-3}},
}


def build_table(path: Path) -> pd.DataFrame:
    """Train every (lr, beta_1, seed) once through dlkit's trial code; dev accuracy after each epoch."""
    from dlkit.recipe.loader import validate_recipe
    from dlkit.rundir import RunDir
    from dlkit.training.prepare import split_recipe
    from dlkit.tuning.trial import train_trial

    recipe = validate_recipe(BASE, "bench", Path.cwd())
    study = split_recipe(recipe)  # loaded and split as `dlkit train` and a study do
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, lr in enumerate(LRS):
            for beta in BETAS:
                for seed in TRAIN_SEEDS:
                    optimizer = {"type": "adam", "learning_rate": float(lr), "beta_1": beta}
                    spec = {**BASE, "seed": seed, "train": {**BASE["train"], "optimizer": optimizer}}
                    trial = validate_recipe(spec, "bench", Path.cwd())
                    try:
                        out = train_trial(trial, study, RunDir(Path(tmp) / f"{i}-{beta}-{seed}"))
                        curve = [h.get("val_accuracy", 0.0) for h in out.history]
                    except Exception:  # a diverged trial scores chance level
                        curve = [0.1] * EPOCHS
                    curve = [c if math.isfinite(c) else 0.1 for c in curve]
                    rows.append(
                        {
                            "lr": lr,
                            "beta_1": beta,
                            "seed": seed,
                            **{f"acc_{e + 1}": c for e, c in enumerate(curve)},
                        }
                    )
                    print(
                        f"lr {lr:.2e} beta_1 {beta:.3f} seed {seed}: dev accuracy {curve[-1]:.3f}", flush=True
                    )
    print(f"{len(rows)} trainings in {time.perf_counter() - started:.0f} s")
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


class Response:
    """Dev accuracy of (lr, beta_1) after ``epochs``, read from the table."""

    def __init__(self, table: pd.DataFrame, noise: bool = False) -> None:
        self.log_lrs = np.log10(np.sort(table["lr"].unique()))
        self.betas = sorted(table["beta_1"].unique())
        self.seeds = sorted(table["seed"].unique())
        self.noise = noise
        self.acc: dict[tuple[float, int | None, int], np.ndarray] = {}
        for beta in self.betas:
            part = table[table["beta_1"] == beta]
            for e in range(1, EPOCHS + 1):
                by_seed = part.pivot(index="lr", columns="seed", values=f"acc_{e}").sort_index()
                self.acc[(beta, None, e)] = by_seed.mean(axis=1).to_numpy()
                for seed in self.seeds:
                    self.acc[(beta, seed, e)] = by_seed[seed].to_numpy()

    def __call__(
        self, lr: float, beta: float, epochs: int = EPOCHS, rng: np.random.Generator | None = None
    ) -> float:
        nearest = min(self.betas, key=lambda b: abs(math.log(1 - b) - math.log(1 - beta)))
        seed = int(rng.choice(self.seeds)) if self.noise and rng is not None else None
        return float(np.interp(math.log10(lr), self.log_lrs, self.acc[(nearest, seed, epochs)]))


def dims(scale: str) -> list[Dimension]:
    """The two searched dimensions, on log scales (``log``) or naively linear ones (``linear``)."""
    if scale == "log":
        lr, beta = {"log": list(LR_RANGE)}, {"one_minus_log": list(BETA_RANGE)}
    else:
        lr, beta = {"uniform": list(LR_RANGE)}, {"uniform": list(BETA_RANGE)}
    return [
        Dimension("lr", DimensionSpec.model_validate(lr)),
        Dimension("beta_1", DimensionSpec.model_validate(beta)),
    ]


def random_search(f: Response, rng: np.random.Generator, n: int, scale: str) -> list[float]:
    lr_dim, beta_dim = dims(scale)
    pairs = zip(lr_dim.sample(n, rng), beta_dim.sample(n, rng), strict=True)
    return [f(lr, beta, rng=rng) for lr, beta in pairs]


def grid_search(f: Response, rng: np.random.Generator, n: int) -> list[float]:
    """A grid as a careful user would set it: log-spaced lr x 1 - beta_1, visited in random order."""
    side = math.isqrt(n)
    lr_dim, beta_dim = dims("log")
    points = [(lr, beta) for lr in lr_dim.grid(side) for beta in beta_dim.grid(side)]
    # the values fall on the same points for every seed; only the order (and the noise) differs
    order = rng.permutation(len(points))
    return [f(*points[i], rng=rng) for i in order]


def coarse_to_fine(f: Response, rng: np.random.Generator, n: int) -> list[float]:
    """Half the budget on the whole box, half in the box narrowed around the 5 best (dlkit's narrow)."""
    first = n // 2
    lr_dim, beta_dim = dims("log")
    lrs, betas = lr_dim.sample(first, rng), beta_dim.sample(first, rng)
    scores = [f(lr, beta, rng=rng) for lr, beta in zip(lrs, betas, strict=True)]
    top = np.argsort(scores)[::-1][:5]
    best = int(top[0])
    lr2 = Dimension("lr", narrow(lr_dim, [lrs[i] for i in top], lrs[best], 0.1).spec)
    beta2 = Dimension("beta_1", narrow(beta_dim, [betas[i] for i in top], betas[best], 0.1).spec)
    rest = n - first
    pairs = zip(lr2.sample(rest, rng), beta2.sample(rest, rng), strict=True)
    return scores + [f(lr, beta, rng=rng) for lr, beta in pairs]


def trials_to_reach(scores: list[float], target: float) -> float:
    for i, s in enumerate(scores, start=1):
        if s >= target:
            return i
    return math.inf


def hyperband_epochs(
    f: Response, seed: int, target: float, max_epochs: int = EPOCHS, iterations: int = 3
) -> tuple[float, int]:
    """Run keras-tuner's Hyperband oracle on the table; epochs spent until a trial reaches ``target``."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Float("lr", *LR_RANGE, sampling="log")
    hp.Float("one_minus_beta_1", 1 - BETA_RANGE[1], 1 - BETA_RANGE[0], sampling="log")
    oracle = keras_tuner.oracles.HyperbandOracle(
        objective=keras_tuner.Objective("acc", "max"),
        max_epochs=max_epochs,
        factor=3,
        hyperband_iterations=iterations,
        hyperparameters=hp,
        seed=seed,
    )
    oracle.verbose = 0
    rng = np.random.default_rng(seed)
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
            score = f(v["lr"], 1 - v["one_minus_beta_1"], v["tuner/epochs"], rng=rng)
            if score >= target and math.isinf(reached):
                reached = spent
            oracle.update_trial(trial.trial_id, {"acc": score})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
    return reached, spent


def describe_table(f: Response) -> None:
    """Where the optimum is: the best learning rate per beta_1 (seed mean) and the seed spread."""
    lrs = 10**f.log_lrs
    for beta in f.betas:
        curve = f.acc[(beta, None, EPOCHS)]
        i = int(np.argmax(curve))
        spread = np.std([f.acc[(beta, s, EPOCHS)][i] for s in f.seeds])
        print(
            f"  beta_1 {beta:.3f}: best lr {lrs[i]:.2e} (index {i + 1} of {len(lrs)}), "
            f"dev accuracy {curve[i]:.4f} (seed sd {spread:.4f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budget", type=int, default=27)
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--build", action="store_true", help="measure the response table again")
    parser.add_argument("--noise", action="store_true", help="each trial sees one training seed")
    args = parser.parse_args()
    table = build_table(args.table) if args.build or not args.table.is_file() else pd.read_csv(args.table)
    f = Response(table, noise=args.noise)
    print(
        f"Response table: {len(table)} trainings ({args.table}); trials score "
        f"{'one training seed drawn at random' if args.noise else 'the mean over training seeds'}"
    )
    describe_table(f)
    reference = max(random_search(f, np.random.default_rng(10_000), 2000, "log"))
    target = reference - 0.01
    print(f"Best of a 2,000-draw random search on log scales: {reference:.4f}")
    print(f"Target: within 1 point, dev accuracy >= {target:.4f}; budget {args.budget}; {args.seeds} seeds\n")
    side = math.isqrt(args.budget)
    strategies: dict[str, Callable[[np.random.Generator], list[float]]] = {
        f"grid ({side} x {side}, log scales)": lambda rng: grid_search(f, rng, args.budget),
        "random, linear scales": lambda rng: random_search(f, rng, args.budget, "linear"),
        "random, log scales": lambda rng: random_search(f, rng, args.budget, "log"),
        "coarse to fine (2 rounds)": lambda rng: coarse_to_fine(f, rng, args.budget),
    }
    print(f"{'strategy':28s} {'trials':>6s} {'within 1 pt':>12s} {'median trials':>14s} {'median best':>12s}")
    for name, run in strategies.items():
        reached, bests = [], []
        for seed in range(args.seeds):
            scores = run(np.random.default_rng(seed))
            reached.append(trials_to_reach(scores, target))
            bests.append(max(scores))
        share = np.mean([math.isfinite(r) for r in reached])
        median = float(np.median(reached))
        shown = f"{median:.0f}" if math.isfinite(median) else f"> {len(scores)}"
        print(f"{name:28s} {len(scores):6d} {share:12.0%} {shown:>14s} {np.median(bests):12.4f}")

    print(
        f"\nEpochs to reach the target (Hyperband: keras-tuner's oracle, max {EPOCHS} epochs, factor 3, "
        f"3 iterations, about the epochs of {args.budget} full trials):"
    )
    hb, rs, totals = [], [], []
    for seed in range(args.seeds):
        reached, spent = hyperband_epochs(f, seed, target)
        hb.append(reached)
        totals.append(spent)
        scores = random_search(f, np.random.default_rng(seed), 200, "log")
        rs.append(trials_to_reach(scores, target) * EPOCHS)
    for name, values in (("hyperband", hb), (f"random log, {EPOCHS} epochs each", rs)):
        share = np.mean([math.isfinite(v) for v in values])
        finite = [v for v in values if math.isfinite(v)]
        among = f"{np.median(finite):.0f}" if finite else "-"
        print(
            f"{name:28s} reached in {share:4.0%} of seeds; median epochs {np.median(values):5.0f} "
            f"(among those that reached it: {among})"
        )
    print(f"{'':28s} (one whole Hyperband run, 3 iterations: median {np.median(totals):.0f} epochs)")


if __name__ == "__main__":
    main()
