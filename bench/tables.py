"""Benchmark: dlkit on raw tables against scikit-learn's gradient boosting (no downloads).

Four tables, each given to ``dlkit train`` as a CSV with a plain recipe (no manual
preprocessing: string categories, blanks, '?' and dates are typed by dlkit and encoded inside the
model) and to ``HistGradientBoostingClassifier`` / ``Regressor`` on dlkit's own train rows,
scored on dlkit's own dev rows:

- ``penguins``: a generated penguins-like table (species from island, bill and flipper lengths,
  sex), with string categories, blanks and '?' markers (multiclass);
- ``diabetes``: scikit-learn's bundled diabetes table (regression, all numeric: the plain path);
- ``sales``: generated daily sales written with day-first dates, a weekday and a seasonal effect,
  a store category (regression);
- ``cancer``: scikit-learn's bundled breast-cancer table (binary, all numeric).

Prints dev accuracy (classification) or RMSE (regression) and the seconds each took, side by side.

Usage: python bench/tables.py [--tables penguins diabetes sales cancer] [--epochs 60]

One run (``--epochs 40``, mlp [64, 32], on 2 CPU cores shared with other jobs, so the seconds
are inflated and only comparable within a row): penguins accuracy 0.967 vs 0.967; diabetes RMSE
55.9 vs 60.3; sales RMSE 11.8 vs 6.0 (the target is not standardised yet); cancer accuracy
0.956 vs 0.939.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def penguins(rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    n = 600
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n)
    island = np.where(
        species == "Gentoo",
        "Biscoe",
        np.where(species == "Chinstrap", "Dream", rng.choice(["Biscoe", "Dream", "Torgersen"], n)),
    )
    bill = np.select([species == "Adelie", species == "Chinstrap"], [38.8, 48.8], 47.5) + rng.normal(
        0, 2.5, n
    )
    flipper = np.select([species == "Adelie", species == "Chinstrap"], [190.0, 196.0], 217.0) + rng.normal(
        0, 6.5, n
    )
    frame = pd.DataFrame(
        {
            "island": island,
            "bill_length_mm": bill.round(1).astype(object),
            "flipper_length_mm": flipper.round(0),
            "sex": rng.choice(["male", "female", None], n, p=[0.48, 0.48, 0.04]),
            "species": species,
        }
    )
    frame.loc[rng.choice(n, 15, replace=False), "bill_length_mm"] = "?"
    frame.loc[rng.choice(n, 10, replace=False), "flipper_length_mm"] = np.nan
    return frame, "species"


def diabetes(rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True)
    return bunch.frame, "target"


def sales(rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    n = 1500
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), "D")
    store = rng.choice(["north", "south", "east", "west"], n)
    base = pd.Series(store).map({"north": 100.0, "south": 140.0, "east": 80.0, "west": 120.0}).to_numpy()
    weekend = np.isin(day.day_of_week, [5, 6]) * 40.0
    season = 20.0 * np.sin(2 * np.pi * day.day_of_year / 365.25)
    frame = pd.DataFrame(
        {
            "date": day.strftime("%d/%m/%Y"),
            "store": store,
            "promo": rng.choice(["yes", "no"], n),
            "sales": base + weekend + season + rng.normal(0, 5, n),
        }
    )
    frame["sales"] += np.where(frame["promo"] == "yes", 25.0, 0.0)
    return frame, "sales"


def cancer(rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame, "target"


TABLES: dict[str, Callable[[np.random.Generator], tuple[pd.DataFrame, str]]] = {
    "penguins": penguins,
    "diabetes": diabetes,
    "sales": sales,
    "cancer": cancer,
}
EXTRA: dict[str, dict[str, Any]] = {
    "penguins": {"na_values": ["?"]},
    "sales": {"columns": {"date": {"date_format": "%d/%m/%Y"}}},
    "diabetes": {},
    "cancer": {},
}


def run_dlkit(folder: Path, name: str, target: str, epochs: int) -> tuple[float, float, pd.DataFrame, str]:
    """Train dlkit on the CSV; return the dev score, the seconds, the manifest and the task."""
    from dlkit import api
    from dlkit.recipe.loader import validate_recipe

    recipe = {
        "name": name,
        "data": {"source": {"type": "csv", "path": f"{name}.csv", "target": target, **EXTRA[name]}},
        "model": {"type": "mlp", "units": [64, 32]},
        "train": {"epochs": epochs, "batch_size": 32, "optimizer": {"type": "adam", "learning_rate": 0.003}},
        "tracking": {"runs_dir": str(folder / "runs")},
    }
    spec = validate_recipe(recipe, f"{name}.yaml", folder)
    start = time.perf_counter()
    result = api.train(spec, track=False)
    seconds = time.perf_counter() - start
    dev = result.metrics["dev"]
    score = float(np.sqrt(dev["mse"])) if result.task == "regression" else float(dev["accuracy"])
    manifest = pd.read_parquet(result.run_dir / "split" / "manifest.parquet")
    return score, seconds, manifest, result.task


def for_trees(frame: pd.DataFrame) -> pd.DataFrame:
    """What the trees get: '?' as missing, strings as pandas categories, dates as numbers."""
    out = frame.replace("?", np.nan).copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]):
            continue
        numbers = pd.to_numeric(out[col], errors="coerce")
        if numbers.notna().sum() == out[col].notna().sum():
            out[col] = numbers
            continue
        dates = pd.to_datetime(out[col], format="%d/%m/%Y", errors="coerce")
        if dates.notna().all():
            out[col] = (dates - pd.Timestamp("1970-01-01")).dt.days
            out[f"{col}_dow"] = dates.dt.day_of_week
            out[f"{col}_doy"] = dates.dt.day_of_year
            continue
        out[col] = out[col].astype("category")
    return out


def run_trees(frame: pd.DataFrame, target: str, manifest: pd.DataFrame, task: str) -> tuple[float, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x = for_trees(frame.drop(columns=[target]))
    y = frame[target].to_numpy()
    sets = manifest.set_index("id")["set"].reindex(np.arange(len(frame))).to_numpy()
    train, dev = sets == "train", sets == "dev"
    model: Any = (
        HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        if task == "regression"
        else HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    )
    start = time.perf_counter()
    model.fit(x[train], y[train])
    seconds = time.perf_counter() - start
    pred = model.predict(x[dev])
    if task == "regression":
        return float(np.sqrt(np.mean((pred - y[dev]) ** 2))), seconds
    return float(np.mean(pred == y[dev])), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    print(f"{'table':10} {'task':11} {'measure':9} {'dlkit':>9} {'s':>7} {'HGB':>9} {'s':>7}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.tables:
            frame, target = TABLES[name](np.random.default_rng(0))
            frame.to_csv(folder / f"{name}.csv", index=False)
            score, seconds, manifest, task = run_dlkit(folder, name, target, args.epochs)
            tree_score, tree_seconds = run_trees(frame, target, manifest, task)
            measure = "RMSE" if task == "regression" else "accuracy"
            ours, theirs = f"{score:9.4f} {seconds:7.1f}", f"{tree_score:9.4f} {tree_seconds:7.1f}"
            print(f"{name:10} {task:11} {measure:9} {ours} {theirs}", flush=True)


if __name__ == "__main__":
    main()
