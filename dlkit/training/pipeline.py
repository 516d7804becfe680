"""The one build path and the one run path, for every task and every command.

``dlkit train`` and ``--resume``, tune trials, the ``--folds`` retrains of analyze-errors,
learning-curve points, ``gradcheck`` and ``lr-find`` all come through here:

- :func:`build_model`: normalisation fitted on train only, the registry's model with the
  task's head, the recipe-wide initialiser, penalty and augmentation, compiled with the task's
  loss and metrics, inside the distribution strategy's scope;
- :func:`training_data`: the seeded, epoch-keyed training stream and the dev batches;
- :func:`fit_model`: :func:`build_model`, :func:`training_data` and :func:`~dlkit.training.fit.fit`
  together (with a checkpoint to resume from or weights to start from);
- :func:`predict_sets`: every set predicted in inference mode, scored by the task and
  written to ``predictions/<set>.parquet`` by one writer;
- :class:`TrainingStreams` and :class:`KeptModel`: a tuning study's pipelines and last model,
  given back to the next trial that would build the same ones (reset to their state as built).

What differs between tasks is asked of the task (:mod:`dlkit.tasks`), never branched on here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.tasks import Task, task_for
from dlkit.training.spec import TrainSpec

if TYPE_CHECKING:
    import keras
    import pandas as pd
    import tensorflow as tf

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.models import BuildContext
    from dlkit.recipe.schema import Recipe
    from dlkit.training.checkpoints import ResumeState
    from dlkit.training.fit import EpochEnd, FitResult
    from dlkit.training.runtime import Runtime


def batch_size(spec: TrainSpec, n_train: int) -> int:
    """The mini-batch size: the whole training set for ``batch_size: full``."""
    return max(1, n_train) if spec.full_batch else spec.batch_size


def task_of(recipe: Recipe, data: Dataset) -> Task:
    """The data's task, with the recipe checked against it (one line naming the field)."""
    from dlkit.training.weights import check_weights

    task = task_for(data.task).configured(recipe)
    task.check(recipe, data)
    check_weights(recipe, data)
    return task


def normalizer_inputs(data: Dataset, indices: np.ndarray) -> Any:
    """What the normaliser adapts on: the train inputs, or for a streamed source batches of
    about 4 MiB read in file order (one pass, memory bounded whatever the size of the set)."""
    from dlkit.data.pipeline import inputs, stream_input_chunks, stream_inputs

    if not data.stream:
        return inputs(data, indices)
    per_example = int(np.prod(data.input_shape)) * 4
    size = max(1, min(1024, (4 << 20) // per_example))
    if data.kind == "image":
        return stream_inputs(data, np.sort(indices)).batch(size)
    return stream_input_chunks(data, np.sort(indices)).rebatch(size)  # the same batches, no step a row


def build_model(
    recipe: Recipe,
    data: Dataset,
    train: np.ndarray,
    runtime: Runtime | None = None,
    *,
    context: BuildContext | None = None,
    augment: bool = True,
) -> keras.Model:
    """Build and compile the recipe's model for ``data`` (call inside :func:`training_runtime`).

    Args:
        recipe: a validated recipe.
        data: the dataset (task, kind, shapes, classes).
        train: indices of the training examples: the normalisation statistics come from them
            only (docs/method.md §1).
        runtime: the runtime whose strategy scope builds the variables; none: the default.
        context: what builders may need beyond the input shape (how to find an earlier run
            for a transfer base); none: the data alone.
        augment: add the recipe's augmentation (left out where the model runs in inference
            mode only: gradcheck).

    Raises:
        RecipeError: the model does not fit the task.
        BuildError: the registry cannot build the model.
    """
    task = task_of(recipe, data)
    with _scope(runtime):
        model = _build(recipe, data, train, task, context, augment)
        compile_model(model, recipe, data, train, task)
    return model


def _scope(runtime: Runtime | None) -> contextlib.AbstractContextManager[Any]:
    return runtime.strategy.scope() if runtime is not None else contextlib.nullcontext()


def _build(
    recipe: Recipe,
    data: Dataset,
    train: np.ndarray,
    task: Task,
    context: BuildContext | None,
    augment: bool,
) -> keras.Model:
    """:func:`build_model` before compiling: every variable made and initialised."""
    import keras

    from dlkit.models import BuildContext
    from dlkit.models import build_model as build_registered
    from dlkit.training.regularize import add_augmentation, apply_initializer, apply_regularization

    spec = recipe.train
    normalizer, encoded = None, None
    if "columns" in data.options:  # typed table columns: one input each, encoded in the model
        from dlkit.data.columns import table_columns, with_encodings
        from dlkit.models.table_inputs import encode_columns

        # the recipe's encodings: a tuning trial's may differ from those the data was read with
        columns = with_encodings(data.options["columns"], getattr(recipe.data.source, "columns", {}))
        encoded = encode_columns(columns, table_columns(data), train, normalize=recipe.data.normalize)
    elif recipe.data.normalize and data.kind != "text":  # token ids are not normalised
        # one scalar for images, per feature for tables and sequences; in float32 whatever the
        # dtype policy: it adapts on float32 inputs, and a float16 variance of 0-255 pixels
        # (up to 65,025) is at float16's limit (65,504)
        normalizer = keras.layers.Normalization(
            axis=None if data.kind == "image" else -1, name="normalize", dtype="float32"
        )
        normalizer.adapt(normalizer_inputs(data, train))
    head = dataclasses.replace(task.head(data), scale=task.target_scale(data.y[train]))
    model = build_registered(
        recipe.model,
        data.input_shape,
        head,
        normalizer,
        name=recipe.name.replace("-", "_"),
        context=context or BuildContext(data=data, runs_dir=Path(recipe.tracking.runs_dir)),
        encoded=encoded,
    )
    if spec.initializer is not None:
        apply_initializer(model, spec.initializer, recipe.seed)
    if spec.regularization is not None:
        apply_regularization(model, spec.regularization)
    if augment and spec.augment is not None and task.augments:
        model = add_augmentation(model, spec.augment, data.input_shape, recipe.seed)
    return model


def compile_model(model: keras.Model, recipe: Recipe, data: Dataset, train: np.ndarray, task: Task) -> None:
    """Compile with the recipe's optimizer and the task's loss and metrics (XLA as the task allows)."""
    from dlkit.training.optimizers import OPTIMIZERS

    spec = recipe.train
    model.compile(
        optimizer=OPTIMIZERS.build(spec.optimizer),
        loss=spec.loss or task.loss(data),
        loss_weights=task.loss_weight(spec.loss, data.y[train]),
        metrics=task.compile_metrics(data),
        jit_compile=task.jit_compile(spec.jit_compile),
    )


# the train fields that only the compiled optimizer and the fit read: trials that differ in them
# alone build the same model (:class:`KeptModel`)
_FIT_ONLY = frozenset(
    {"optimizer", "schedule", "epochs", "batch_size", "full_batch", "shuffle"}
    | {"early_stopping", "checkpoint_every_s"}
)


class KeptModel:
    """:func:`build_model`'s last model, given back to the next call that would build the same one.

    The trials of a tuning study often differ only in how they train (learning rate, schedule,
    batch size, epochs): each would build, initialise and trace the very model the last one
    did, and trace its training, validation and predict steps again: more than half of a short
    trial (BENCHMARKS.md, Tuning overhead). A kept model is put back as a new build leaves it:
    every variable (weights, normalisation statistics, moving averages, the random layers' seed
    states) set to the value it had when built. Then:

    - where the trial's optimizer is the kept one's but for its learning rate (a variable its
      traced steps read), that optimizer is restarted: every variable of it (step count,
      learning rate, moments) set to what the trial's own optimizer, built on the same weights,
      starts from. The model stays compiled, its steps traced; the metrics restart at every epoch.
    - otherwise it is compiled anew with the trial's optimizer, loss and metrics, keeping its
      predict function (it reads the model's variables only).

    A trial trains on it exactly as on a new model (``tests/integration/test_one_path.py``).

    Only a model of the default strategy is kept (another strategy is made anew by every
    :func:`~dlkit.training.runtime.training_runtime`, and its variables belong to it).
    """

    def __init__(self) -> None:
        self._model: keras.Model | None = None
        self._key: tuple[Any, ...] = ()  # the build key, data, context and train indices built on
        self._initial: list[tuple[Any, Any]] = []  # each variable and its value as built
        self._optimizer: dict[str, Any] | None = None  # the compiled optimizer's spec, but its rate
        self._start: list[tuple[Any, Any]] = []  # each of its variables and its value at the start

    def __call__(
        self,
        recipe: Recipe,
        data: Dataset,
        train: np.ndarray,
        runtime: Runtime,
        *,
        context: BuildContext | None = None,
    ) -> keras.Model:
        """What :func:`build_model` returns for these arguments: the kept model reset, or a new one."""
        import keras

        task = task_of(recipe, data)
        key = (_build_key(recipe), data, context, train)
        model = self._model
        if model is None or runtime.strategy_name != "default" or not self._same(key):
            self._model, self._initial, self._start = None, [], []  # gone before the new one is built
            with _scope(runtime):
                model = _build(recipe, data, train, task, context, augment=True)
            if runtime.strategy_name == "default":
                self._model, self._key = model, key
                # copies, as tensors: assigning a tensor skips a conversion per variable and trial
                copy = keras.ops.convert_to_tensor
                self._initial = [(v, copy(np.array(v.numpy()))) for v in model.variables]
        else:
            for variable, value in self._initial:
                variable.assign(value)
            if self._restart(model, recipe, runtime):
                return model
        predict = model.predict_function
        with _scope(runtime):
            compile_model(model, recipe, data, train, task)
        self._optimizer, self._start = _without_rate(recipe), []
        # compiling drops the predict function; it reads the model's variables only, not the
        # optimizer, loss or metrics, and the build key holds the XLA setting it was traced with
        model.predict_function = predict
        return model

    def _restart(self, model: keras.Model, recipe: Recipe, runtime: Runtime) -> bool:
        """Restart the compiled optimizer for ``recipe`` if it differs from it in its learning
        rate alone; False, with nothing changed, where it must be compiled anew."""
        import keras

        from dlkit.training.optimizers import OPTIMIZERS

        if self._optimizer is None or _without_rate(recipe) != self._optimizer:
            return False
        if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
            return False  # mixed precision's loss-scale wrapper: compiled anew
        if not self._start:  # the start values, from a new optimizer built once on the same weights
            with _scope(runtime):
                fresh = OPTIMIZERS.build(recipe.train.optimizer)
                start = _start_values(model.optimizer, fresh, model.trainable_variables)
            if start is None:
                return False
            self._start = start
        for variable, value in self._start:
            variable.assign(value)
        model.optimizer.learning_rate = recipe.train.optimizer.learning_rate
        return True

    def _same(self, key: tuple[Any, ...]) -> bool:
        text, data, context, train = key
        kept_text, kept_data, kept_context, kept_train = self._key
        same_inputs = data is kept_data and context is kept_context and _same_array(train, kept_train)
        return same_inputs and text == kept_text


def _without_rate(recipe: Recipe) -> dict[str, Any]:
    return recipe.train.optimizer.model_dump(mode="json", exclude={"learning_rate"})


def _start_values(kept: Any, fresh: Any, weights: list[Any]) -> list[tuple[Any, Any]] | None:
    """Each variable of ``kept`` (a compiled model's built optimizer) and the value ``fresh``
    starts it from, built on ``weights``; None where ``fresh`` differs in more than its learning
    rate or its variables do not match (another type, a loss-scale wrapper, not built yet)."""
    import keras

    if type(kept) is not type(fresh) or not getattr(kept, "built", False):
        return None
    if not isinstance(getattr(fresh, "_learning_rate", None), keras.Variable):
        return None  # a schedule object: its settings are in the traced steps
    kept_config, fresh_config = kept.get_config(), fresh.get_config()
    for config in (kept_config, fresh_config):
        config.pop("learning_rate", None)
        config.pop("name", None)
    if kept_config != fresh_config:
        return None
    fresh.build(weights)
    pairs = list(zip(kept.variables, fresh.variables, strict=False))
    if len(kept.variables) != len(fresh.variables) or any(a.shape != b.shape for a, b in pairs):
        return None
    return [(variable, keras.ops.convert_to_tensor(np.array(start.numpy()))) for variable, start in pairs]


def _build_key(recipe: Recipe) -> str:
    """The recipe without the train fields only compiling and fitting read, as text."""
    import json

    dumped = recipe.model_dump(mode="json")
    dumped["train"] = {k: v for k, v in dumped["train"].items() if k not in _FIT_ONLY}
    return json.dumps(dumped, sort_keys=True)


def training_data(
    spec: TrainSpec,
    data: Dataset,
    train: np.ndarray,
    dev: np.ndarray,
    seed: int,
    initial_epoch: int = 0,
    weights: np.ndarray | None = None,
    task: Task | None = None,
    scratch: Path | None = None,
) -> tuple[tf.data.Dataset, tf.data.Dataset, int]:
    """The training batches from ``initial_epoch`` to the last epoch (epoch ``e`` shuffled by
    ``(seed, e)``, so a resumed run sees the same batches), the dev batches, and the steps per
    epoch. A streamed source is read from its files batch by batch, never whole. ``weights``:
    one loss weight per training example (:func:`dlkit.training.weights.example_weights`),
    carried in every batch; dev stays unweighted. ``task``: the data's task as the recipe
    configures it (its own batches, :meth:`~dlkit.tasks.Task.batch_sampler`); the registered one
    when None. ``scratch``: an empty folder where a streamed table's train and dev rows, parsed
    in the first epoch, or a streamed image folder's decoded images, are kept on disk for the
    later ones (none: parsed or decoded every epoch)."""
    from dlkit.data.pipeline import image_cache_fits, make_dataset, make_stream
    from dlkit.training.stream import epoch_stream, steps_per_epoch, streamed_epochs

    size = batch_size(spec, len(train))
    if data.stream:
        # a cache only one epoch would write and none read is not made; decoded images only
        # where they fit (:data:`~dlkit.data.pipeline.IMAGE_CACHE_BYTES`)
        keep = scratch is not None and spec.epochs - initial_epoch > 1
        if keep and scratch is not None and data.kind == "image":
            keep = image_cache_fits(data, len(train) + len(dev), scratch)
        folder = scratch if keep else None
        stream = streamed_epochs(
            data,
            train,
            size,
            shuffle=spec.shuffle,
            seed=seed,
            initial_epoch=initial_epoch,
            epochs=spec.epochs,
            cache=folder / "train" if folder else None,
        )
        dev_batches = make_stream(data, dev, spec.batch_size, cache=folder / "dev" if folder else None)
    else:
        task = task or task_for(data.task)
        x, y = task.fit_arrays(data, train)
        sampler = task.batch_sampler(data.y[train], seed)
        stream = epoch_stream(
            x,
            y,
            size,
            shuffle=spec.shuffle,
            seed=seed,
            initial_epoch=initial_epoch,
            epochs=spec.epochs,
            weights=weights,
            sampler=sampler,
        )
        dev_batches = make_dataset(*task.fit_arrays(data, dev), spec.batch_size)
        if sampler is not None:
            return stream, dev_batches, sampler.steps
    return stream, dev_batches, steps_per_epoch(len(train), size)


class TrainingStreams:
    """:func:`training_data` kept for the next call with the same arguments.

    The trials of a tuning study train on the same data; building the ``tf.data`` pipelines
    (tracing their functions) costs a small trial about as much as an epoch. The pipelines hold
    no state between iterations (epoch ``e``'s order is keyed by ``(seed, e)``; dev is not
    shuffled), so a kept one gives every trial the batches a new one would.
    """

    def __init__(self) -> None:
        self._data: Dataset | None = None
        self._key: tuple[Any, ...] = ()
        self._arrays: tuple[np.ndarray | None, ...] = ()
        self._streams: tuple[tf.data.Dataset, tf.data.Dataset, int] | None = None

    def __call__(
        self,
        spec: TrainSpec,
        data: Dataset,
        train: np.ndarray,
        dev: np.ndarray,
        seed: int,
        initial_epoch: int = 0,
        weights: np.ndarray | None = None,
        task: Task | None = None,
    ) -> tuple[tf.data.Dataset, tf.data.Dataset, int]:
        """What :func:`training_data` returns for these arguments (the kept pipelines when they
        match; a task configured anew, as one with its own batches is per trial, rebuilds them)."""
        key = (spec.batch_size, spec.full_batch, spec.shuffle, spec.epochs, seed, initial_epoch, task)
        arrays = (train, dev, weights)
        same = (
            self._streams is not None
            and data is self._data
            and key == self._key
            and all(map(_same_array, arrays, self._arrays))
        )
        if not same:
            self._streams = None  # the old pipelines go before the new ones are built
            self._streams = training_data(spec, data, train, dev, seed, initial_epoch, weights, task)
            self._data, self._key, self._arrays = data, key, arrays
        assert self._streams is not None
        return self._streams


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is b or (a is not None and b is not None and np.array_equal(a, b))


@dataclass
class Fitted:
    """A trained model and how its training went."""

    model: keras.Model
    fit: FitResult
    n_params: int


def fit_model(
    recipe: Recipe,
    data: Dataset,
    train: np.ndarray,
    dev: np.ndarray,
    runtime: Runtime,
    *,
    context: BuildContext | None = None,
    checkpoints: Path | None = None,
    resume: ResumeState | None = None,
    warm_start: Path | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    on_built: Callable[[keras.Model], None] | None = None,
    streams: TrainingStreams | None = None,
    models: KeptModel | None = None,
    scratch: Path | None = None,
) -> Fitted:
    """Build the recipe's model, fit it on ``train`` validating on ``dev``, every epoch checkpointed.

    Args:
        recipe: the validated recipe (its ``train.epochs`` is the budget).
        data: the dataset (labels as the run trains on them: corrections applied).
        train: indices the model is fitted on (normalisation statistics too).
        dev: indices it is validated on every epoch.
        runtime: from :func:`~dlkit.training.runtime.training_runtime`.
        context: passed to the builders.
        checkpoints: folder for last.keras, best.keras and state.json (``checkpoint_every_s``).
        resume: continue after a completed epoch (weights, optimizer, schedule, random state).
        warm_start: a model file whose weights the new model starts from (a Hyperband promotion).
        on_epoch: called after every epoch.
        on_built: called with the built (and restored) model before the first epoch.
        streams: keeps the training and dev pipelines between calls (a study's trials);
            none: built for this call.
        models: keeps the model between calls, reset to its initial state (a study's trials);
            none: built for this call.
        scratch: a folder of the run's for a streamed table's parsed rows (:func:`training_data`):
            emptied first (what a killed process left there is never read), removed at the end.
    """
    import keras

    from dlkit.training import checkpoints as ckpt
    from dlkit.training.fit import fit
    from dlkit.training.weights import example_weights

    spec = recipe.train
    task = task_for(data.task)
    if models is not None:
        model = models(recipe, data, train, runtime, context=context)
    else:
        model = build_model(recipe, data, train, runtime, context=context)
    if resume is not None and checkpoints is not None:
        restore_best = bool(spec.early_stopping and spec.early_stopping.restore_best_weights)
        with runtime.strategy.scope():  # the optimizer's variables are made here, the strategy's
            ckpt.restore(model, checkpoints, resume, best_weights=restore_best)
    if warm_start is not None and warm_start.is_file():
        model.set_weights(keras.saving.load_model(warm_start, compile=False).get_weights())
    if on_built is not None:
        on_built(model)
    if streams is not None or not data.stream:
        scratch = None  # kept pipelines outlive this call: they parse every epoch
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
    try:
        initial = resume.epoch if resume is not None else 0
        weights = example_weights(recipe, data, train)
        configured = task_for(data.task).configured(recipe)
        if streams is not None:
            stream, dev_batches, steps = streams(
                spec, data, train, dev, recipe.seed, initial, weights=weights, task=configured
            )
        else:
            stream, dev_batches, steps = training_data(
                spec, data, train, dev, recipe.seed, initial, weights, configured, scratch=scratch
            )
        baseline = task.baseline_loss(data.y[train]) if spec.loss is None else None
        fitted = fit(
            model,
            spec,
            runtime.shard(stream),
            runtime.shard(dev_batches),
            checkpoints=checkpoints if runtime.chief else None,  # a multi_worker worker writes none
            on_epoch=on_epoch,
            steps_per_epoch=steps,
            resume=resume,
            baseline_loss=baseline,
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return Fitted(model, fitted, int(model.count_params()))


def write_predictions(path: Path, frame: pd.DataFrame, data: Dataset, indices: np.ndarray) -> None:
    """The one predictions writer: id first, the task's columns, then the metadata columns.

    Parquet, or CSV for a ``.csv`` path; unlabelled data (``data.labelled`` False) without the
    columns that compare with a label.
    """
    if not data.labelled:
        frame = task_for(data.task).without_truth(frame)
    frame = frame.reset_index(drop=True)
    frame.insert(0, "id", data.ids[indices])
    for col in data.metadata.columns:
        frame[str(col)] = data.metadata[col].to_numpy()[indices]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def predict_set(
    model: keras.Model,
    recipe: Recipe,
    data: Dataset,
    indices: np.ndarray,
    path: Path,
    on_progress: Callable[[int], None] | None = None,
    task: Task | None = None,
) -> dict[str, float]:
    """Predict one set in inference mode, write its predictions file, return its metrics.

    A streamed source is predicted and written chunk by chunk (its tasks score per example),
    ``on_progress`` called with the examples done after each chunk. ``task``: the data's task
    as :meth:`~dlkit.tasks.Task.calibrate` left it (the registered one when None).
    """
    from dlkit.training.streamed_predictions import write_streamed_predictions

    task = task or task_for(data.task)
    if data.stream and task.streams:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_streamed_predictions(
            model, data, indices, path, recipe.train.batch_size, on_progress=on_progress
        )
    scored = task.predict(model, data, indices, recipe)
    write_predictions(path, scored.frame, data, indices)
    task.write_outputs(scored, path, data.ids[indices])
    if on_progress is not None:
        on_progress(len(indices))
    return scored.metrics


def predict_sets(
    model: keras.Model,
    recipe: Recipe,
    data: Dataset,
    parts: SplitResult,
    predictions_path: Callable[[str], Path],
    sets: tuple[str, ...] | None = None,
) -> dict[str, dict[str, float]]:
    """Predict every set in inference mode, write ``predictions/<set>.parquet``, return the metrics
    (with a constant predictor's beside the model's where the task has one: ``baseline_*``).

    A streamed source is predicted and written chunk by chunk (its tasks score per example).
    ``sets`` limits the sets predicted (a tuning trial never looks at test).
    """
    y_train = data.y[parts.indices("train")]
    task = task_of(recipe, data).calibrate(model, recipe, data, parts)
    metrics: dict[str, dict[str, float]] = {}
    for name in parts.present():
        if sets is not None and name not in sets:
            continue
        idx = parts.indices(name)
        metrics[name] = predict_set(model, recipe, data, idx, predictions_path(name), task=task)
        metrics[name].update(task_for(data.task).baseline_metrics(y_train, data.y[idx]))
    return metrics


def describe_options(model: keras.Model, runtime: Runtime) -> dict[str, Any]:
    """What run.json records about how the run trained (XLA as Keras resolved it: it falls back
    to no XLA for models it cannot compile, e.g. with random augmentation layers)."""
    return {**runtime.describe(), "jit_compile": bool(model.jit_compile)}
