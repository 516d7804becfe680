"""Benchmark: time to a dev accuracy, ``dlkit train`` against the Keras script a user would write.

Both train the quick start's model (recipes/digits-cnn.yaml: scikit-learn's 8x8 digits, two
3x3 conv + pool blocks of 32 and 64 filters, dense 64, dropout 0.2, Adam 3e-3 with inverse-time
decay 0.05, batches of 64, early stopping with patience 6) as fresh processes, in turn:

- ``dlkit``: ``python -m dlkit train recipes/digits-cnn.yaml``, tracked in a SQLite MLflow store
  (created by a warm-up run first, as a user's store is after their first run). Each epoch's
  time is the timestamp MLflow stored with its dev accuracy (`val_accuracy`).
- ``keras``: a hand-written script (below): load the digits, a stratified 60/10/15/15 split,
  scale, build the same network, ``fit`` with dev validation and early stopping, evaluate on
  test, save the model. It prints the wall clock at the end of each epoch.

Figures per process, from its start: the seconds to the first epoch whose dev accuracy reaches
``--target``, and to the end of the command (dlkit also predicts and scores every set, writes
the run folder and reports, and logs the MLflow Model). Medians over ``--repeats`` rounds, with
their ratio. The two splits differ (dlkit's own and scikit-learn's), so epoch counts may too.

Usage: python bench/time_to_accuracy.py [--target 0.98] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

KERAS_SCRIPT = r"""
import sys, time
import numpy as np
import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
digits = load_digits()
x = (digits.images / 16.0).astype("float32")[..., None]
y = digits.target


def split(a, b, size):
    return train_test_split(a, b, train_size=size, stratify=b, random_state=0)


x_train, x_rest, y_train, y_rest = split(x, y, 0.6)
x_tdev, x_rest, y_tdev, y_rest = split(x_rest, y_rest, 0.25)
x_dev, x_test, y_dev, y_test = split(x_rest, y_rest, 0.5)

model = keras.Sequential([
    keras.Input((8, 8, 1)),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])
steps = int(np.ceil(len(x_train) / 64))
schedule = keras.optimizers.schedules.InverseTimeDecay(3e-3, decay_steps=steps, decay_rate=0.05)
model.compile(
    optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)


class Clock(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(f"EPOCH {time.time():.3f} {logs['val_accuracy']:.5f}", flush=True)


model.fit(
    x_train, y_train, batch_size=64, epochs=30, verbose=0, validation_data=(x_dev, y_dev),
    callbacks=[Clock(), keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True)],
)
print("test", model.evaluate(x_test, y_test, verbose=0))
model.save(sys.argv[1])
"""


def first_at(epochs: list[tuple[float, float]], target: float, start: float) -> float:
    """Seconds from ``start`` to the first epoch (wall clock, accuracy) reaching ``target``."""
    for at, accuracy in epochs:
        if accuracy >= target:
            return at - start
    return float("nan")


def run_dlkit(folder: Path, uri: str) -> tuple[list[tuple[float, float]], float, float]:
    """(epoch times and dev accuracies, start, end) of one tracked ``dlkit train``."""
    import json

    from mlflow.tracking import MlflowClient

    cmd = [sys.executable, "-m", "dlkit", "train", str(REPO / "recipes" / "digits-cnn.yaml"), "--json"]
    cmd += ["--set", f"tracking.runs_dir={folder / 'runs'}", "--set", f"tracking.uri={uri}"]
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=folder).stdout
    end = time.time()
    run_id = json.loads(out)["run_id"]
    history = MlflowClient(uri).get_metric_history(run_id, "val_accuracy")  # per epoch, as Keras names it
    return sorted((m.timestamp / 1000, m.value) for m in history), start, end


def run_keras(folder: Path) -> tuple[list[tuple[float, float]], float, float]:
    """(epoch times and dev accuracies, start, end) of the hand-written script."""
    script = folder / "by_hand.py"
    script.write_text(KERAS_SCRIPT, encoding="utf-8")
    start = time.time()
    out = subprocess.run(
        [sys.executable, str(script), str(folder / "model.keras")], capture_output=True, text=True, check=True
    ).stdout
    end = time.time()
    epochs = [
        (float(a), float(b))
        for _, a, b in (line.split() for line in out.splitlines() if line.startswith("EPOCH"))
    ]
    return epochs, start, end


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    figures: dict[str, dict[str, list[float]]] = {
        w: {"target": [], "end": [], "epochs": []} for w in ("keras", "dlkit")
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        run_dlkit(folder, uri)  # warm-up: creates and migrates the store
        for _ in range(args.repeats):
            for way in ("keras", "dlkit"):
                epochs, start, end = run_keras(folder) if way == "keras" else run_dlkit(folder, uri)
                figures[way]["target"].append(first_at(epochs, args.target, start))
                figures[way]["end"].append(end - start)
                figures[way]["epochs"].append(len(epochs))
    median = {w: {k: statistics.median(v) for k, v in f.items()} for w, f in figures.items()}
    print(f"quick start (digits CNN), dev accuracy >= {args.target}, median of {args.repeats} rounds")
    print(f"{'':8} {'to target s':>12} {'whole command s':>16} {'epochs':>7}")
    for way in ("keras", "dlkit"):
        m = median[way]
        print(f"{way:8} {m['target']:12.1f} {m['end']:16.1f} {m['epochs']:7.0f}")
    print(
        f"{'ratio':8} {median['dlkit']['target'] / median['keras']['target']:11.2f}x "
        f"{median['dlkit']['end'] / median['keras']['end']:15.2f}x"
    )


if __name__ == "__main__":
    main()
