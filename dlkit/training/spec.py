"""The recipe's ``train`` section."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from dlkit._naming import did_you_mean
from dlkit._spec import Spec
from dlkit.training.optimizers import OPTIMIZERS, AdamSpec
from dlkit.training.schedules import SCHEDULES, check_monitor

if TYPE_CHECKING:
    # registry-built unions are only known at run time; mypy sees these fields as Any
    OptimizerSpec = Any
    ScheduleSpec = Any
else:
    # the one spec the value's `type` names; the JSON Schema is the union of the registry's specs
    OptimizerSpec = OPTIMIZERS.one_of()
    ScheduleSpec = SCHEDULES.one_of()

# The names keras.losses.get accepts (keras.src.losses.ALL_OBJECTS_DICT less the abstract Loss and
# LossFunctionWrapper), written out so `recipe validate` needs no TensorFlow; a unit test keeps
# this in step with the installed Keras.
KERAS_LOSSES = frozenset(
    {
        *("binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy"),
        *("categorical_focal_crossentropy", "categorical_hinge", "circle", "cosine_similarity"),
        *("ctc", "dice", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error"),
        *("mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error"),
        *("poisson", "sparse_categorical_crossentropy", "squared_hinge", "tversky"),
        *("bce", "kld", "mae", "mape", "mse", "msle", "BCE", "KLD", "MAE", "MAPE", "MSE", "MSLE"),
        *("BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy"),
        *("CategoricalFocalCrossentropy", "CategoricalHinge", "Circle", "CosineSimilarity", "Dice"),
        *("Hinge", "Huber", "KLDivergence", "LogCosh", "MeanAbsoluteError"),
        *("MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError"),
        *("Poisson", "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky"),
    }
)

Initializer = Literal[
    "he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform"
]


class EarlyStoppingSpec(Spec):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (on dev)."""

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = Field(
        default="auto", description="auto: maximise accuracy-like monitors, minimise the rest."
    )
    patience: int = Field(default=5, ge=0)
    min_delta: float = Field(default=0.0, ge=0)
    restore_best_weights: bool = True
    start_from_epoch: int = Field(default=0, ge=0, description="Epochs before stopping may happen.")

    _known_monitor = field_validator("monitor")(check_monitor)


class RegularizationSpec(Spec):
    """A penalty on every kernel of the model: l1·Σ|W| + l2·ΣW² (both: elastic net).

    Keras's convention: no 1/2m factor, so l2 here is λ/(2m) in docs/method.md §6's notation.
    Per-layer penalties in the model spec stay; this one is added on top.
    """

    l1: float = Field(default=0.0, ge=0)
    l2: float = Field(default=0.0, ge=0)


class AugmentSpec(Spec):
    """Random image transformations applied to training batches only (never to dev, test or predictions)."""

    flip: Literal["horizontal", "vertical", "horizontal_and_vertical"] | None = None
    rotation: float | None = Field(default=None, gt=0, le=1, description="Fraction of a full turn, ±.")
    zoom: float | None = Field(default=None, gt=0, lt=1, description="Zoom in or out by up to this fraction.")
    translation: float | None = Field(default=None, gt=0, lt=1, description="Shift by up to this fraction.")
    contrast: float | None = Field(default=None, gt=0, le=1, description="Contrast factor in 1 ± this.")


class TrainSpec(Spec):
    """How to fit: epochs, mini-batches, optimizer, schedule, regularisation, hardware, determinism."""

    epochs: int = Field(default=20, ge=1)
    batch_size: int = Field(default=64, ge=1, description="Examples per mini-batch (64 to 512 are usual).")
    full_batch: bool = Field(
        default=False, description="One batch of the whole training set per step (`batch_size: full`)."
    )
    shuffle: bool = True
    optimizer: OptimizerSpec = Field(default_factory=AdamSpec)
    schedule: ScheduleSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    loss: str | None = Field(default=None, description="A Keras loss name; chosen from the task when absent.")
    class_weight: Literal["balanced"] | dict[str | int, float] | None = Field(
        default=None,
        description="Weight of each class in the loss (binary, multiclass): balanced = n_samples / "
        "(n_classes * count) on train, as scikit-learn's; or {label: weight}, unlisted labels 1.",
    )
    regularization: RegularizationSpec | None = Field(
        default=None, description="L1 / L2 / elastic net on every kernel of the model."
    )
    augment: AugmentSpec | None = Field(default=None, description="Image augmentation, training only.")
    initializer: Initializer | None = Field(
        default=None,
        description="Re-initialise every kernel with this (seeded); the model's own when absent.",
    )
    mixed_precision: bool | Literal["auto"] = Field(
        default=False,
        description="float16 compute; auto: on where a GPU of compute capability ≥ 7 is present.",
    )
    jit_compile: bool | Literal["auto"] = Field(default="auto", description="XLA; auto is Keras's choice.")
    strategy: Literal["default", "mirrored", "multi_worker"] = Field(
        default="default",
        description="tf.distribute strategy: mirrored over local GPUs, multi_worker from TF_CONFIG.",
    )
    deterministic: bool = Field(
        default=False, description="TensorFlow op determinism: identical results run to run (slower)."
    )
    checkpoint_every_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds between resume checkpoints (written at an epoch's end; 0: every epoch). "
        "The last epoch, an early stop, Ctrl-C, SIGTERM and an error always write the last completed "
        "epoch's; only a hard kill loses the epochs since.",
    )

    @field_validator("class_weight")
    @classmethod
    def _positive_weights(cls, value: Any) -> Any:
        if isinstance(value, dict):
            bad = {k: w for k, w in value.items() if not (math.isfinite(w) and w > 0)}
            if bad:
                label, weight = next(iter(bad.items()))
                raise ValueError(f"the weight of label {label!r} is {weight}; expected a number > 0")
            if not value:
                raise ValueError("expected balanced or at least one {label: weight}")
        return value

    @field_validator("loss")
    @classmethod
    def _keras_loss(cls, value: str | None) -> str | None:
        if value is not None and value not in KERAS_LOSSES:
            # suggest the snake_case names Keras documents, not every alias
            names = sorted(n for n in KERAS_LOSSES if n.islower() and len(n) > 4)
            hint = did_you_mean(value, names) or " Expected one of keras.losses, e.g. mean_squared_error."
            raise ValueError(f"not a Keras loss name.{hint}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # `optimizer: {learning_rate: 0.01}` (or a --set of one field) means the default, Adam
        optimizer = data.get("optimizer")
        if isinstance(optimizer, dict) and "type" not in optimizer:
            data = {**data, "optimizer": {"type": "adam", **optimizer}}
        # `batch_size: full` is full-batch gradient descent
        if data.get("batch_size") == "full":
            data = {k: v for k, v in data.items() if k != "batch_size"}
            data["full_batch"] = True
        return data
