"""dlkit's own Keras layers, registered serializable so saved models load again.

This module imports Keras when it is imported: import it lazily (builders do), or load saved
models with :func:`dlkit.models.load_model`, which imports it first.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="dlkit")
class PositionalEncoding(keras.layers.Layer):
    """Adds the sinusoidal encoding of each position (Vaswani et al., 2017).

    PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)). With
    ``scale``, inputs are first multiplied by √d (as for embeddings). Masks pass through.
    """

    def __init__(self, scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        length = ops.shape(inputs)[1]
        depth = int(inputs.shape[-1])
        positions = ops.cast(ops.arange(length), "float32")[:, None]
        i = ops.arange(depth) // 2
        rates = ops.power(10000.0, -ops.cast(2 * i, "float32") / depth)
        angles = positions * rates[None, :]
        even = ops.cast(ops.arange(depth) % 2 == 0, "float32")
        encoding = even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)
        x = ops.cast(inputs, "float32")
        if self.scale:
            x = x * ops.sqrt(ops.cast(depth, "float32"))
        return x + encoding[None, :, :]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="dlkit")
class PaddingMask(keras.layers.Layer):
    """`(batch, timesteps)` token ids -> `(batch, timesteps)`, true where the id is not 0 (padding)."""

    def call(self, inputs: Any) -> Any:
        return keras.ops.not_equal(inputs, 0)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="bool")


@keras.saving.register_keras_serializable(package="dlkit")
def masked_binary_crossentropy(y_true: Any, y_pred: Any, missing: float = -1.0) -> Any:
    """Per example `(batch,)`: binary cross-entropy summed over the present labels (not NaN, not
    ``missing``), in ``y_pred``'s float type (float64 for gradient checking)."""
    ops = keras.ops
    dtype = y_pred.dtype if "float" in str(y_pred.dtype) else "float32"
    y_true = ops.cast(y_true, dtype)
    y_pred = ops.cast(y_pred, dtype)
    present = ops.logical_and(ops.logical_not(ops.isnan(y_true)), ops.not_equal(y_true, missing))
    safe = ops.where(present, y_true, ops.zeros_like(y_true))
    p = ops.clip(y_pred, keras.backend.epsilon(), 1 - keras.backend.epsilon())
    losses = -(safe * ops.log(p) + (1 - safe) * ops.log(1 - p))
    return ops.sum(ops.where(present, losses, ops.zeros_like(losses)), axis=-1)


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy over `(batch, tasks)`, summed over the tasks whose label is present.

    A label equal to ``missing`` (or NaN) adds nothing to the loss and no gradient; Keras then
    averages the per-example sums over the batch: J = (1/m) Σᵢ Σⱼ present L(ŷᵢⱼ, yᵢⱼ).
    """

    def __init__(
        self, missing: float = -1.0, name: str = "masked_binary_crossentropy", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.missing = missing

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return masked_binary_crossentropy(y_true, y_pred, self.missing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "missing": self.missing}


@keras.saving.register_keras_serializable(package="dlkit")
class MaskedBinaryAccuracy(keras.metrics.Metric):
    """Share of present labels (not NaN, not ``missing``) that the 0.5 threshold gets right."""

    def __init__(self, missing: float = -1.0, name: str = "accuracy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.missing = missing
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ops = keras.ops
        y_true = ops.cast(y_true, "float32")
        known = ops.logical_and(ops.logical_not(ops.isnan(y_true)), ops.not_equal(y_true, self.missing))
        right = ops.equal(ops.cast(ops.cast(y_pred, "float32") >= 0.5, "float32"), y_true)
        right = ops.logical_and(right, known)
        self.correct.assign_add(ops.sum(ops.cast(right, "float32")))
        self.count.assign_add(ops.sum(ops.cast(known, "float32")))

    def result(self) -> Any:
        return keras.ops.divide_no_nan(self.correct, self.count)

    def reset_state(self) -> None:
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "missing": self.missing}


@keras.saving.register_keras_serializable(package="dlkit")
class Impute(keras.layers.Layer):
    """Replaces NaN in each of the ``k`` features `(batch, k)` by its value fitted on train
    (the median), so a saved model takes rows with blanks."""

    def __init__(self, values: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        x = ops.cast(inputs, "float32")
        return ops.where(ops.isnan(x), ops.convert_to_tensor(self.values, "float32")[None, :], x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package="dlkit")
class MissingIndicator(keras.layers.Layer):
    """1.0 where a feature is missing (NaN), else 0.0, for the features at ``columns``."""

    def __init__(self, columns: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        picked = ops.take(ops.cast(inputs, "float32"), self.columns, axis=1)
        return ops.cast(ops.isnan(picked), "float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "columns": self.columns}


@keras.saving.register_keras_serializable(package="dlkit")
class DateParts(keras.layers.Layer):
    """Days since 1970-01-01 `(batch, 1)` -> `(batch, 4)`: the days themselves, the year, the
    month (1-12) and the day of the week (0 = Monday), by Hinnant's civil-from-days arithmetic."""

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        days = ops.floor(ops.cast(inputs, "float32"))
        z = days + 719468.0
        era = ops.floor(z / 146097.0)
        doe = z - era * 146097.0
        yoe = ops.floor(
            (doe - ops.floor(doe / 1460.0) + ops.floor(doe / 36524.0) - ops.floor(doe / 146096.0)) / 365.0
        )
        doy = doe - (365.0 * yoe + ops.floor(yoe / 4.0) - ops.floor(yoe / 100.0))
        mp = ops.floor((5.0 * doy + 2.0) / 153.0)
        month = ops.where(mp < 10.0, mp + 3.0, mp - 9.0)
        year = yoe + era * 400.0 + ops.cast(month <= 2.0, "float32")
        weekday = ops.mod(days + 3.0, 7.0)
        return ops.concatenate([days, year, month, weekday], axis=-1)


@keras.saving.register_keras_serializable(package="dlkit")
class PiecewiseLinear(keras.layers.Layer):
    """Piecewise-linear encoding of numbers (Gorishniy et al., 2022, "On embeddings for numerical
    features in tabular deep learning"): `(batch, k)` -> `(batch, Σ bins)`.

    Feature ``j`` with edges ``b_0 < ... < b_T`` (train's quantiles) gives ``T`` values
    ``(x - b_{t-1}) / (b_t - b_{t-1})`` clipped to [0, 1], the first one open below and the
    last open above: a bin below ``x`` is 1, the one holding it the fraction reached, those
    above 0. A dense layer on them is any piecewise-linear function of ``x`` with kinks at
    the edges, which a small MLP on the standardised number alone learns slowly (steps in time,
    thresholds). A feature with fewer than three edges gives nothing.
    """

    def __init__(self, edges: list[list[float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edges = [[float(e) for e in feature] for feature in edges]

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        x = ops.cast(inputs, "float32")
        parts = []
        for j, edges in enumerate(self.edges):
            if len(edges) < 3:
                continue
            left = ops.convert_to_tensor(edges[:-1], "float32")[None, :]
            width = ops.convert_to_tensor(np.diff(edges), "float32")[None, :]
            n = len(edges) - 1
            low = ops.convert_to_tensor([-np.inf] + [0.0] * (n - 1), "float32")[None, :]
            high = ops.convert_to_tensor([1.0] * (n - 1) + [np.inf], "float32")[None, :]
            parts.append(ops.minimum(ops.maximum((x[:, j : j + 1] - left) / width, low), high))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        return (input_shape[0], sum(len(e) - 1 for e in self.edges if len(e) >= 3))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "edges": self.edges}


@keras.saving.register_keras_serializable(package="dlkit")
class GridOutput(keras.layers.Layer):
    """A detection head: the backbone's features to a grid `(S, S, B, 5 + C)` of raw
    ``(tx, ty, tw, th, objectness, C class logits)`` per cell and anchor (YOLO; decoded by
    :func:`dlkit.analysis.detection.decode`). The anchors ride in the config, so a saved model
    decodes without its training data.

    A feature map `(h, w, channels)` with h and w multiples of S (the ``cnn`` backbone's) is read
    by one convolution of kernel and stride h / S: each cell's prediction sees its own patch of
    the map (YOLO v2). A feature vector (a backbone that ends flat) goes through a dense layer
    reshaped to the grid (YOLO v1).
    """

    def __init__(self, grid: int, anchors: list[list[float]], n_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grid = int(grid)
        self.anchors = [[float(w), float(h)] for w, h in anchors]
        self.n_classes = int(n_classes)
        self.units = len(self.anchors) * (5 + self.n_classes)
        self.reader: keras.layers.Layer | None = None

    def build(self, input_shape: Any) -> None:
        if len(input_shape) == 4:
            h, w = int(input_shape[1]), int(input_shape[2])
            if h % self.grid or w % self.grid:
                from dlkit.models._errors import ModelError

                raise ModelError(
                    f"detection head: the backbone's {h}x{w} feature map does not divide into a "
                    f"{self.grid}x{self.grid} grid",
                    hint="set data.source.grid to a divisor of the feature map's size, or change the "
                    "backbone's pooling",
                )
            self.reader = keras.layers.Conv2D(
                self.units,
                (h // self.grid, w // self.grid),
                strides=(h // self.grid, w // self.grid),
                dtype=self.dtype_policy,
            )
        else:
            self.reader = keras.layers.Dense(self.grid * self.grid * self.units, dtype=self.dtype_policy)
            input_shape = (input_shape[0], int(np.prod(input_shape[1:])))
        self.reader.build(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        assert self.reader is not None  # built by Keras before the first call
        x = (
            inputs
            if len(inputs.shape) == 4
            else keras.ops.reshape(inputs, (-1, int(np.prod(inputs.shape[1:]))))
        )
        x = self.reader(x)
        return keras.ops.reshape(x, (-1, self.grid, self.grid, len(self.anchors), 5 + self.n_classes))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0], self.grid, self.grid, len(self.anchors), 5 + self.n_classes)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "grid": self.grid,
            "anchors": self.anchors,
            "n_classes": self.n_classes,
        }


@keras.saving.register_keras_serializable(package="dlkit")
class YoloLoss(keras.losses.Loss):
    """The YOLO loss of a grid `(S, S, B, 5 + C)` against its target `(S, S, B, 6)`
    (:func:`dlkit.analysis.detection.encode`), summed over the cells and anchors of an image:

    ``coord * Σ_obj [(σ(tx) − x)² + (σ(ty) − y)² + (tw − tw*)² + (th − th*)²]
    + Σ_obj BCE(to, 1) + noobj * Σ_noobj BCE(to, 0) + Σ_obj CE(class logits, class)``.

    Objectness and classes take cross-entropy (YOLO v3) where YOLO v1 took squared errors: the
    gradients do not vanish on confident mistakes. ``coord`` and ``noobj`` are YOLO's λ (5, 0.5).
    """

    def __init__(
        self, coord: float = 5.0, noobj: float = 0.5, name: str = "yolo_loss", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.coord = float(coord)
        self.noobj = float(noobj)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        y_true = ops.cast(y_true, y_pred.dtype)  # float64 under gradcheck: never round it down
        obj = y_true[..., 4]
        xy = ops.square(ops.sigmoid(y_pred[..., 0:2]) - y_true[..., 0:2])
        wh = ops.square(y_pred[..., 2:4] - y_true[..., 2:4])
        coord = ops.sum(xy + wh, axis=-1)
        objectness = ops.binary_crossentropy(obj, y_pred[..., 4], from_logits=True)
        classes = ops.sparse_categorical_crossentropy(
            ops.cast(y_true[..., 5], "int32"), y_pred[..., 5:], from_logits=True
        )
        per_cell = obj * (self.coord * coord + objectness + classes) + self.noobj * (1.0 - obj) * objectness
        return ops.sum(per_cell, axis=(1, 2, 3))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "coord": self.coord, "noobj": self.noobj}


@keras.saving.register_keras_serializable(package="dlkit")
class CTCLoss(keras.losses.Loss):
    """Connectionist temporal classification (Graves et al., 2006) of per-step probabilities.

    ``y_true`` `(batch, length)`: label indices, 0-padded (index 0 is the blank, never a label);
    ``y_pred`` `(batch, steps, classes)`: softmax outputs, blank at 0. The loss is
    -log P(label | input), summed over every alignment that collapses to the label
    (``keras.ops.ctc_loss``, which takes logits: the log-probabilities are given, whose
    log-softmax is themselves).
    """

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        labels = ops.cast(y_true, "int32")
        label_length = ops.sum(ops.cast(labels > 0, "int32"), axis=-1)
        if self.dtype == "float64":  # TensorFlow's kernel computes in float32 only (gradcheck's copy)
            return ctc_forward(labels, ops.log(ops.maximum(ops.cast(y_pred, "float64"), 1e-300)))
        batch, steps = ops.shape(y_pred)[0], ops.shape(y_pred)[1]
        output_length = ops.full((batch,), steps, dtype="int32")
        log_probs = ops.log(ops.maximum(ops.cast(y_pred, "float32"), 1e-12))
        return ops.ctc_loss(labels, log_probs, label_length, output_length, mask_index=0)


def ctc_forward(labels: Any, log_probs: Any) -> Any:
    """-log P(label | input) by the CTC forward algorithm in log space, in the inputs' dtype.

    The same quantity as ``keras.ops.ctc_loss`` (blank 0, every step used), written with Keras
    ops so that it also runs in float64. Args: ``labels`` `(batch, length)` 0-padded,
    ``log_probs`` `(batch, steps, classes)` with a static number of steps.
    """
    ops = keras.ops
    dtype = log_probs.dtype
    never = ops.cast(-1e30, dtype)
    batch_labels = ops.cast(labels, "int32")
    length = ops.sum(ops.cast(batch_labels > 0, "int32"), axis=-1)
    n_labels = int(batch_labels.shape[1])
    # the extended label: blank, l1, blank, l2, ..., blank (2 * length + 1 states)
    extended = ops.reshape(
        ops.stack([ops.zeros_like(batch_labels), batch_labels], axis=-1), (-1, 2 * n_labels)
    )
    extended = ops.concatenate([extended, ops.zeros_like(extended[:, :1])], axis=1)
    states = 2 * n_labels + 1
    previous_two = ops.concatenate([ops.zeros_like(extended[:, :2]) - 1, extended[:, :-2]], axis=1)
    skip = ops.logical_and(extended > 0, ops.not_equal(extended, previous_two))
    steps = int(log_probs.shape[1])
    # emit[b, t, s]: log P(state s's symbol at step t)
    emit = ops.take_along_axis(log_probs, ops.repeat(extended[:, None, :], steps, axis=1), axis=2)
    position = ops.arange(states)[None, :]
    alpha = ops.where(position < 2, emit[:, 0, :], never)
    for t in range(1, steps):
        one = ops.concatenate([ops.full_like(alpha[:, :1], never), alpha[:, :-1]], axis=1)
        two = ops.concatenate([ops.full_like(alpha[:, :2], never), alpha[:, :-2]], axis=1)
        two = ops.where(skip, two, never)
        alpha = ops.logsumexp(ops.stack([alpha, one, two], axis=-1), axis=-1) + emit[:, t, :]
    last = ops.take_along_axis(alpha, ops.stack([2 * length, 2 * length - 1], axis=-1), axis=1)
    return -ops.logsumexp(last, axis=-1)


@keras.saving.register_keras_serializable(package="dlkit")
class UnitWeights(keras.layers.Layer):
    """``x ⊙ w``: one learned weight per unit (a pair classifier's weights on ``|f(x1) − f(x2)|``
    folded into the embedding, :class:`dlkit.models.losses.PairLoss`), starting at 1."""

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight(shape=(int(input_shape[-1]),), initializer="ones", name="w")

    def call(self, inputs: Any) -> Any:
        return inputs * keras.ops.cast(self.w, inputs.dtype)
