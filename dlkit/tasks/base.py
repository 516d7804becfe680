"""What a task is: everything the one build, train and predict path needs to know about it.

A task (binary, multiclass, regression, ...) says which head the model ends with, which loss
and Keras metrics it compiles with, what the model is fitted on, how a set's predictions file
is written and scored, how one example's error is read for the reports, and which reports
apply. :mod:`dlkit.training.pipeline` asks the task and never branches on its name; a new task
is one module in this package that registers a :class:`Task`.

Nothing here imports TensorFlow at import time: the report commands read tasks too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, get_args

from dlkit._lazy import lazy_module
from dlkit.data.dataset import LabelKind

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
    from dlkit.training.curves import CurveWarning
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

# the reports a task can take part in
REPORTS = ("diagnose", "analyze_errors", "label_issues", "tune", "gradcheck", "lr_find", "learning_curve")


@dataclass
class Scored:
    """One set's predictions: a frame of per-example columns (without id and metadata) and metrics."""

    frame: pd.DataFrame
    metrics: dict[str, float]
    # per-example outputs a table cannot hold (a segmentation's predicted masks), by name
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class BatchSampler(Protocol):
    """A task's own training batches: ``steps`` per epoch, drawn for epoch ``e`` as positions
    `(steps, batch)` into the training examples (:meth:`Task.batch_sampler`)."""

    @property
    def steps(self) -> int: ...

    def __call__(self, epoch: int) -> np.ndarray: ...


class Task:
    """A task's behaviour on the one path. Subclasses override what differs.

    Attributes:
        name: the task's name, as sources set ``Dataset.task``.
        summary: one line for listings.
        classifies: one class label per example (stratified splits, class counts, confusion).
        default_metric: what ``metrics.optimize`` means when the recipe leaves it out.
        set_metrics: dev-set metrics ``metrics.optimize`` may name (tune and diagnose).
        maximised: those of ``set_metrics`` where larger is better; the others (loss, error,
            mse, cer, ...) are minimised.
        error_metric: the metric the reports turn into a per-example error.
        reports: the reports this task takes part in (see :data:`REPORTS`).
        streams: predictions of a streamed source can be written chunk by chunk.
        augments: the recipe's ``train.augment`` applies to its inputs.
        labels: ``categorical`` (one class index per example), ``continuous`` (one real
            target) or ``structured`` (several labels, token or step sequences): how sources
            encode its targets and how the split compares the label distributions of dev and
            test. Every task says which (the registry refuses one that does not).
        exact_classes: the number of classes it takes (binary: 2), checked when a source
            encodes its labels; None: any number from 2.
        multiple_targets: its labels are several 0/1 target columns, one per example and
            target (a table's ``target`` list); a single target column is refused.
        step_labels: an npz source's labels are one class per step `(n, timesteps)`, padding
            masked (:func:`dlkit.data.sequence_labels.encode_step_labels`); per-step labels
            for another task are refused.
        keeps_classes: new data for a trained model is read with the run's class list (the
            source's ``classes``), so labels keep their training indices.
        split_by_label: every label goes whole to one set, so dev and test hold labels train
            never saw (the identities of one-shot verification).
        epoch_metrics: the names Keras logs each epoch for :meth:`compile_metrics` (on train,
            and ``val_<name>`` on dev): what early stopping and ``reduce_on_plateau`` may watch.
        errors_per: what one error of the reports is read for: ``example`` (the data-mismatch
            reading of new data compares them), or ``task`` (multitask: one per task).
        takes_sample_weight: its targets are one value per example, as Keras weighs a loss per
            example: a table's ``sample_weight`` column applies.
        verifies: its model embeds an example and two are the same when their distance is
            within the threshold τ the run chose (``distances``, ``threshold``):
            ``dlkit verify`` and ``dlkit identify`` read its runs.
    """

    name: str = ""
    summary: str = ""
    # every task sets it; "" is refused by Registry.register
    labels: LabelKind = ""  # type: ignore[assignment]  # no kind until the task says
    exact_classes: int | None = None
    multiple_targets: bool = False
    step_labels: bool = False
    default_metric: str = "accuracy"
    set_metrics: tuple[str, ...] = ("loss", "accuracy", "error")
    maximised: tuple[str, ...] = ("accuracy",)
    error_metric: str = "accuracy"
    reports: tuple[str, ...] = REPORTS
    streams: bool = False
    augments: bool = True
    split_by_label: bool = False
    keeps_classes: bool = True
    epoch_metrics: tuple[str, ...] = ("accuracy",)
    errors_per: str = "example"
    takes_sample_weight: bool = False
    verifies: bool = False
    # prediction columns read from the labels (dropped when predicting unlabelled data)
    truth_columns: tuple[str, ...] = ("y_true", "correct", "loss")

    @property
    def classifies(self) -> bool:
        return self.labels == "categorical"

    def direction(self, metric: str) -> str:
        """``max`` for a metric where larger is better, ``min`` for losses and errors."""
        return "max" if metric in self.maximised else "min"

    # -- recipe and model ------------------------------------------------------------------

    def check(self, recipe: Recipe, data: Dataset) -> None:
        """Refuse a recipe whose model cannot serve this task (one line, the field named).

        Raises:
            RecipeError: the model does not fit the task.
        """
        from dlkit.errors import RecipeError

        if getattr(recipe.model, "output", None) == "sequence":
            raise RecipeError(
                f"model.output: output: sequence predicts one label per step, but the labels are one per "
                f"example (task {self.name}); use output: last, or give labels (n, timesteps)"
            )
        if getattr(recipe.model, "type", None) == "crnn":
            raise RecipeError(
                f"model.type: crnn predicts one distribution per image column, for strings (data.task: "
                f"ctc); the task is {self.name}"
            )
        if getattr(recipe.model, "type", None) == "conv_gru":
            raise RecipeError(
                f"model.type: conv_gru predicts one output per time step, for per-step trigger labels "
                f"(a wav source, data.task: trigger_word); the task is {self.name}"
            )
        if getattr(recipe.model, "type", None) == "seq2seq":
            raise RecipeError(
                f"model.type: seq2seq decodes token sequences and needs a text_pairs source "
                f"(the task is {self.name})"
            )

    def configured(self, recipe: Recipe) -> Task:
        """This task with the recipe's settings for it (a task with options returns a copy)."""
        return self

    def calibrate(self, model: keras.Model, recipe: Recipe, data: Dataset, parts: SplitResult) -> Task:
        """This task with what scoring needs from the trained model on a set other than the one
        scored (a verification task's threshold, chosen on dev); itself when nothing."""
        return self

    def restored(self, recipe: Recipe, metrics: dict[str, dict[str, float]]) -> Task:
        """This task as a finished run left it, for its model on new data (``predict``,
        ``evaluate``): the recipe's settings and what :meth:`calibrate` chose, read back from
        the run's metrics per set (a verification run's τ), never chosen again on the new data.

        Raises:
            UnsupportedRunError: the metrics lack what scoring needs.
        """
        return self.configured(recipe)

    def head(self, data: Dataset) -> Head:
        """The output layer."""
        raise NotImplementedError

    def loss(self, data: Dataset) -> Any:
        """The default loss (a Keras name or object), used unless the recipe names one."""
        raise NotImplementedError

    def compile_metrics(self, data: Dataset) -> list[Any]:
        """Keras metrics reported per epoch (``accuracy``, ``val_accuracy``, ...): by default
        :attr:`epoch_metrics` by name; a task compiling metric objects names them the same."""
        return list(self.epoch_metrics)

    def jit_compile(self, requested: bool | str) -> bool | str:
        """XLA as the recipe asks (``auto``: Keras's choice); a task may rule it out."""
        return requested

    # -- what the model is fitted on and predicts from -----------------------------------------

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        """Model inputs and targets of the examples at ``indices`` (inputs may be a tuple)."""
        from dlkit.data.pipeline import inputs

        return inputs(data, indices), data.y[indices]

    def batch_sampler(self, y_train: np.ndarray, seed: int) -> BatchSampler | None:
        """The training batches this task draws itself (verification's P identities × K images),
        or None (the default): shuffled batches of ``train.batch_size``.

        Raises:
            RecipeError: the task's batch options cannot be met by the training labels.
        """
        return None

    def array_labels(
        self, y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
    ) -> tuple[np.ndarray, list[object]] | None:
        """Labels an array source (npz) gives in this task's own shape (a box, points, a mask),
        encoded with their classes; None: the source's one-label-per-example encoding applies.

        Args:
            y: the label array, or None for unlabelled data (placeholders of the right shape).
            x_shape: the inputs' shape `(n, ...)`.
            classes: the recipe's (or the trained run's) classes, or None.
            where: the file and array, for messages.
        """
        return None

    def image_csv_labels(
        self,
        frame: pd.DataFrame,
        images: pd.Series,
        sizes: np.ndarray,
        x_shape: tuple[int, ...],
        classes: list[Any] | None,
        where: str,
    ) -> tuple[np.ndarray, list[object]] | None:
        """Labels an image CSV gives (:mod:`dlkit.data.image_csv`: one row per image), encoded as
        :meth:`array_labels` encodes an npz's; None (the default): this task reads no image CSV.

        Args:
            frame: the label columns (every column but ``image``), indexed by the CSV's lines.
            images: each row's image path as the CSV gives it.
            sizes: `(n, 2)` each image's ``(width, height)`` as stored (the CSV's pixels).
            x_shape: the resized images' shape `(n, height, width, channels)`.
            classes: the recipe's (or the trained run's) classes, or None.
            where: the CSV, for messages.

        Raises:
            DataError: labels that do not fit the task, naming the line.
        """
        return None

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        """The loss of a constant predictor fitted on train (the flat-curve check), or None."""
        return None

    def target_scale(self, y_train: np.ndarray) -> tuple[float, float] | None:
        """``(mean, std)`` the model's output is un-scaled by (inside the model), or None: the
        model then learns a standardised target and still predicts in the target's units."""
        return None

    def loss_weight(self, loss: str | None, y_train: np.ndarray) -> float | None:
        """A factor on the compiled loss (``loss``: the recipe's, None for the task's own), or None."""
        return None

    def baseline_metrics(self, y_train: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """A constant predictor's metrics on a set (``baseline_*``), reported beside the model's."""
        return {}

    def metric_warnings(self, metrics: dict[str, dict[str, float]]) -> list[CurveWarning]:
        """What the finished run's metrics per set say is wrong (e.g. worse than the baseline)."""
        return []

    def outputs(self, model: keras.Model, x: Any, recipe: Recipe) -> Any:
        """The model's outputs on inputs ``x`` in inference mode, as ``model.predict`` gives them
        (:func:`dlkit.models.outputs.predict_arrays`: one traced function for every set)."""
        from dlkit.models.outputs import predict_arrays

        return predict_arrays(model, x, max(recipe.train.batch_size, 256))

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        """Predict the examples at ``indices`` in inference mode and score them."""
        x, y = self.fit_arrays(data, indices)
        return self.score(np.asarray(self.outputs(model, x, recipe)), y, data)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """Per-example columns and the set's metrics from the model's outputs (pure NumPy)."""
        raise NotImplementedError

    def draw_predictions(self, path: Path, data: Dataset) -> Path | None:
        """Pictures of a predictions file written by ``dlkit predict`` (detection: the boxes drawn
        on the images), in a folder beside it; None (the default) for a task without pictures."""
        return None

    def write_outputs(self, scored: Scored, path: Path, ids: np.ndarray) -> None:
        """Write what the predictions table at ``path`` cannot hold (``scored.arrays``) beside it."""

    def without_truth(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A predictions frame of unlabelled examples: the columns that compare with a label dropped."""
        return frame.drop(columns=[c for c in self.truth_columns if c in frame.columns])

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        """A set's metrics from its predictions frame as :meth:`score` writes it (the streamed
        predictions are scored from it)."""
        raise NotImplementedError

    # -- the reports -------------------------------------------------------------------------

    def error_columns(self, metric: str | None) -> list[str]:
        """The prediction columns :meth:`example_errors` reads for ``metric``.

        Raises:
            ValueError: a metric this task cannot turn into a per-example error.
        """
        if metric is None or metric in ("accuracy", "error", self.error_metric):
            return ["correct"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for {self.name} "
            f"(supported: {', '.join(dict.fromkeys(('accuracy', 'error', self.error_metric)))})"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        """One error per example `(n,)`: booleans (a mistake) or real losses."""
        self.error_columns(metric)
        return ~frame["correct"].to_numpy(dtype=bool)

    def error_name(self, metric: str | None) -> str | None:
        """The per-example error in words when :meth:`example_errors` has its own for ``metric``."""
        return None

    def label_summary(self, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
        """What a split summary says about one set's labels (class counts, per-task counts)."""
        return {}

    def refuse(self, report: str, run_name: str) -> None:
        """Raise the one-line refusal when ``report`` does not apply to this task.

        Raises:
            UnsupportedRunError: the report does not apply.
        """
        if report not in self.reports:
            from dlkit.errors import UnsupportedRunError

            raise UnsupportedRunError(
                f"run '{run_name}': {report.replace('_', '-')} does not apply to task {self.name}"
            )


class Registry:
    """Task name -> :class:`Task`."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, task: Task) -> Task:
        if task.name in self._tasks:
            raise ValueError(f"task '{task.name}' is registered twice")
        if task.labels not in get_args(LabelKind):
            raise ValueError(
                f"task '{task.name}' says not how its labels are held: set labels to one of "
                f"{', '.join(get_args(LabelKind))} (got {task.labels!r})"
            )
        self._tasks[task.name] = task
        return task

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def get(self, name: str) -> Task:
        """The task called ``name``.

        Raises:
            BuildError: no such task.
        """
        if name not in self._tasks:
            from dlkit._naming import did_you_mean
            from dlkit.errors import BuildError

            names = self.names()
            raise BuildError(
                f"Unknown task '{name}'. Available: {', '.join(names)}.{did_you_mean(name, names)}"
            )
        return self._tasks[name]

    def __iter__(self) -> Any:
        return iter(self._tasks[n] for n in self.names())


def class_accuracy_metrics(correct: np.ndarray, loss: np.ndarray) -> dict[str, float]:
    """n, loss, accuracy and error of a set from per-example correctness and losses."""
    n = len(correct)
    accuracy = float(correct.mean()) if n else float("nan")
    return {
        "n": n,
        "loss": float(loss.mean()) if n else float("nan"),
        "accuracy": accuracy,
        "error": 1 - accuracy,
    }
