"""Multi-task: the loss sums over present labels only; per-task metrics skip missing labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dlkit.models import MODELS, Head, build_model, load_model
from dlkit.models.multitask import masked_binary_crossentropy, per_task_metrics


def test_masked_loss_known_answer() -> None:
    loss = masked_binary_crossentropy()
    y_true = np.array([[1.0, -1.0, 0.0], [np.nan, 1.0, -1.0]], "float32")
    y_pred = np.array([[0.8, 0.3, 0.4], [0.9, 0.5, 0.2]], "float32")
    # example 1: -ln 0.8 - ln 0.6 ; example 2: -ln 0.5 ; mean over the 2 examples
    expected = (-math.log(0.8) - math.log(0.6) - math.log(0.5)) / 2
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def test_missing_labels_give_no_gradient(workdir: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(MODELS.get("mlp").spec(units=[]), (4,), Head(3, "sigmoid"))
    assert model.output_shape == (None, 3)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=masked_binary_crossentropy())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (rng.random((32, 3)) > 0.5).astype("float32")
    y[:, 2] = -1.0  # task 2 has no labels at all
    kernel_before, bias_before = (np.array(w) for w in model.get_layer("output").get_weights())
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernel, bias = model.get_layer("output").get_weights()
    np.testing.assert_array_equal(kernel[:, 2], kernel_before[:, 2])
    assert bias[2] == bias_before[2]
    assert not np.allclose(kernel[:, :2], kernel_before[:, :2])
    model.save(workdir / "multi.keras")
    assert load_model(workdir / "multi.keras").loss.missing == -1.0


def test_per_task_metrics_skip_missing() -> None:
    y_true = np.array([[1, 0], [0, -1], [1, np.nan], [0, 1]], "float64")
    y_prob = np.array([[0.9, 0.2], [0.7, 0.9], [0.4, 0.1], [0.1, 0.8]])
    first, second = per_task_metrics(y_true, y_prob, ["smiling", "glasses"])
    assert (first.task, first.n, first.accuracy, first.positives) == ("smiling", 4, 0.5, 2)
    assert (second.n, second.accuracy, second.error) == (2, 1.0, 0.0)
