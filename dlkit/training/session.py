"""One training's model and input stream, built the same way for a new and a resumed run.

:func:`build_training_model` is the recipe's whole build path: normalisation fitted on train,
the registry's model, the recipe-wide penalty, initialiser and augmentation, compiled, all
inside the distribution strategy's scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.training.spec import TrainSpec

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from dlkit.data.dataset import Dataset
    from dlkit.models import BuildContext
    from dlkit.recipe.schema import Recipe
    from dlkit.training.runtime import Runtime


def batch_size(spec: TrainSpec, n_train: int) -> int:
    """The mini-batch size: the whole training set for ``batch_size: full``."""
    return max(1, n_train) if spec.full_batch else spec.batch_size


def build_training_model(
    recipe: Recipe,
    data: Dataset,
    x_train: np.ndarray | tf.data.Dataset,
    runtime: Runtime | None = None,
    *,
    context: BuildContext | None = None,
) -> keras.Model:
    """Build and compile the recipe's model for ``data`` (call inside :func:`training_runtime`).

    Args:
        recipe: a validated recipe.
        data: the dataset (task, kind, shapes, classes).
        x_train: training inputs, for the normalisation statistics (train only, METHODOLOGY §1):
            an array, or for a streamed source a ``tf.data`` dataset of input batches (one pass).
        runtime: the runtime whose strategy scope builds the variables; none: the default.
        context: what builders may need beyond the input shape (the data, how to find an
            earlier run for a transfer base); none: the data alone.
    """
    import contextlib

    import keras

    from dlkit.models import BuildContext, Head, build_model
    from dlkit.training.fit import compile_model
    from dlkit.training.regularize import add_augmentation, apply_initializer, apply_regularization

    spec = recipe.train
    scope = runtime.strategy.scope() if runtime is not None else contextlib.nullcontext()
    with scope:
        normalizer = None
        if recipe.data.normalize and data.kind != "text":  # token ids are not normalised
            # one scalar for images, per feature for tables
            normalizer = keras.layers.Normalization(
                axis=None if data.kind == "image" else -1, name="normalize"
            )
            normalizer.adapt(x_train)
        head = Head.for_task(data.task, data.n_classes)
        model = build_model(
            recipe.model,
            data.input_shape,
            head,
            normalizer,
            name=recipe.name.replace("-", "_"),
            context=context or BuildContext(data=data),
        )
        if spec.initializer is not None:
            apply_initializer(model, spec.initializer, recipe.seed)
        if spec.regularization is not None:
            apply_regularization(model, spec.regularization)
        if spec.augment is not None:
            model = add_augmentation(model, spec.augment, data.input_shape, recipe.seed)
        compile_model(model, spec, data.task)
    return model


def training_stream(
    spec: TrainSpec, x: np.ndarray, y: np.ndarray, seed: int, initial_epoch: int
) -> tuple[tf.data.Dataset, int]:
    """The training batches from ``initial_epoch`` to the last epoch, and the steps per epoch."""
    from dlkit.training.stream import epoch_stream, steps_per_epoch

    size = batch_size(spec, len(x))
    stream = epoch_stream(
        x, y, size, shuffle=spec.shuffle, seed=seed, initial_epoch=initial_epoch, epochs=spec.epochs
    )
    return stream, steps_per_epoch(len(x), size)


def streamed_training_stream(
    spec: TrainSpec, data: Dataset, indices: np.ndarray, seed: int, initial_epoch: int
) -> tuple[tf.data.Dataset, int]:
    """:func:`training_stream` for a streamed source: batches read from the files every epoch."""
    from dlkit.training.stream import steps_per_epoch, streamed_epochs

    size = batch_size(spec, len(indices))
    stream = streamed_epochs(
        data,
        indices,
        size,
        shuffle=spec.shuffle,
        seed=seed,
        initial_epoch=initial_epoch,
        epochs=spec.epochs,
    )
    return stream, steps_per_epoch(len(indices), size)


def normalizer_inputs(data: Dataset, indices: np.ndarray) -> tf.data.Dataset:
    """A streamed set's inputs in batches of about 4 MiB, in file order: what the normaliser
    adapts on (one pass, memory bounded by a few batches whatever the size of the set)."""
    from dlkit.data.pipeline import stream_inputs

    per_example = int(np.prod(data.input_shape)) * 4
    return stream_inputs(data, np.sort(indices)).batch(max(1, min(1024, (4 << 20) // per_example)))


def describe_options(model: keras.Model, runtime: Runtime) -> dict[str, Any]:
    """What run.json records about how the run trained (XLA as Keras resolved it: it falls back
    to no XLA for models it cannot compile, e.g. with random augmentation layers)."""
    return {**runtime.describe(), "jit_compile": bool(model.jit_compile)}
