"""Train one trial through dlkit's own build path: registry model, compile, fit, score in inference mode.

The study's split is computed once and passed in; every trial writes a run directory of the
usual layout (``dlkit diagnose`` reads it), but only the best trial's model goes to MLflow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlkit.data.dataset import Dataset
from dlkit.data.split import SplitResult
from dlkit.errors import BuildError, DlkitError
from dlkit.recipe.schema import Recipe
from dlkit.rundir import RunDir, write_json


class TrialFailed(DlkitError):
    """A trial that cannot finish: NaN loss, a model that cannot be built, an invalid recipe."""


@dataclass
class StudyData:
    """The data and the study's one split, shared by every trial."""

    data: Dataset
    split: SplitResult

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Inputs and targets of every set; a streamed source's sets are read into memory."""
        from dlkit.data.pipeline import inputs

        x = {name: inputs(self.data, self.split.indices(name)) for name in self.split.present()}
        y = {name: self.data.y[self.split.indices(name)] for name in self.split.present()}
        return x, y


@dataclass
class TrialOutcome:
    """A finished trial: metrics per set, size, the satisficing measures and the epochs trained."""

    metrics: dict[str, dict[str, float]]
    n_params: int
    measured: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def measure_latency_ms(model: Any, input_shape: tuple[int, ...], repeats: int = 20) -> float:
    """Median inference time of one example, in ms (batch of 1, after a warm-up)."""
    x = np.zeros((1, *input_shape), dtype=np.float32)
    for _ in range(3):  # tracing and allocation are not latency
        model(x, training=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x, training=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def train_trial(
    recipe: Recipe,
    study: StudyData,
    run: RunDir,
    *,
    epochs: int | None = None,
    warm_start: Path | None = None,
    measure: tuple[str, ...] = (),
    on_epoch: Callable[[Any], None] | None = None,
) -> TrialOutcome:
    """Build, train and score one configuration; write its run directory.

    Args:
        recipe: the trial's validated recipe.
        study: the study's data and split.
        run: the trial's run directory (created).
        epochs: epochs to train (Hyperband's budget); ``recipe.train.epochs`` when None.
        warm_start: a model file whose weights start this trial (a Hyperband promotion).
        measure: satisficing measures to take: params, latency_ms, model_size_mb.
        on_epoch: called after every epoch with the :class:`~dlkit.training.fit.EpochEnd`.

    Returns:
        The metrics of every set (inference mode), the parameter count and the measures.

    Raises:
        TrialFailed: the model cannot be built or the loss is not finite.
    """
    from dlkit._tf import import_tensorflow
    from dlkit._tf_memory import released_custom_gradients

    import_tensorflow()
    # the trial's model is saved and dropped here: what TensorFlow keeps of it globally goes too
    with released_custom_gradients():
        return _train(recipe, study, run, epochs, warm_start, measure, on_epoch)


def _train(
    recipe: Recipe,
    study: StudyData,
    run: RunDir,
    epochs: int | None,
    warm_start: Path | None,
    measure: tuple[str, ...],
    on_epoch: Callable[[Any], None] | None,
) -> TrialOutcome:
    import keras
    import pandas as pd

    from dlkit.data.pipeline import make_dataset
    from dlkit.models import Head, build_model
    from dlkit.training.evaluate import predict, score
    from dlkit.training.fit import compile_model, fit

    data, parts = study.data, study.split
    # a fresh Keras state (layer names); collecting the previous trial's garbage is the caller's job
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(recipe.seed)
    x, y = study.arrays()
    normalizer = None
    if recipe.data.normalize:
        normalizer = keras.layers.Normalization(axis=None if data.kind == "image" else -1, name="normalize")
        normalizer.adapt(x["train"])
    head = Head.for_task(data.task, data.n_classes)
    try:
        model = build_model(
            recipe.model, data.input_shape, head, normalizer, name=recipe.name.replace("-", "_")
        )
        compile_model(model, recipe.train, data.task)
    except BuildError as exc:
        raise TrialFailed(f"cannot build the model: {exc.message}") from None
    except (ValueError, TypeError) as exc:
        raise TrialFailed(f"cannot build the model: {type(exc).__name__}: {exc}") from None
    if warm_start is not None and warm_start.is_file():
        previous = keras.saving.load_model(warm_start, compile=False)
        model.set_weights(previous.get_weights())
    n_params = int(model.count_params())
    spec = recipe.train if epochs is None else recipe.train.model_copy(update={"epochs": epochs})
    fitted = fit(
        model,
        spec,
        make_dataset(x["train"], y["train"], spec.batch_size, shuffle=spec.shuffle, seed=recipe.seed),
        make_dataset(x["dev"], y["dev"], spec.batch_size),
        on_epoch=on_epoch,
    )
    for epoch, row in enumerate(fitted.history, start=1):
        loss = row.get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrialFailed(f"training loss became {loss} at epoch {epoch} (learning rate too high?)")
    run.history_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(fitted.history, index=pd.RangeIndex(1, len(fitted.history) + 1, name="epoch")).to_csv(
        run.history_path
    )
    metrics: dict[str, dict[str, float]] = {}
    run.predictions_path("dev").parent.mkdir(parents=True, exist_ok=True)
    for name in parts.present():
        idx = parts.indices(name)
        frame, set_metrics = score(predict(model, x[name], spec.batch_size), y[name], data.task, data.classes)
        if not all(math.isfinite(v) for v in set_metrics.values()):
            raise TrialFailed(f"{name} metrics are not finite ({set_metrics}): the model outputs NaN")
        frame.insert(0, "id", data.ids[idx])
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[idx]
        frame.to_parquet(run.predictions_path(name), index=False)
        metrics[name] = set_metrics
    write_json(run.metrics_path, metrics)
    run.model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(run.model_path)
    measured: dict[str, float] = {}
    if "params" in measure:
        measured["params"] = float(n_params)
    if "latency_ms" in measure:
        measured["latency_ms"] = measure_latency_ms(model, data.input_shape)
    if "model_size_mb" in measure:
        measured["model_size_mb"] = run.model_path.stat().st_size / 1e6
    return TrialOutcome(metrics, n_params, measured, fitted.epochs_run, fitted.history)
