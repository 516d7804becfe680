"""The in-memory dataset every source produces and every later stage consumes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dlkit._lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


Task = Literal[
    "binary",
    "multiclass",
    "regression",
    "multitask",
    "seq2seq",
    "sequence_labeling",
    "localization",
    "landmarks",
    "segmentation",
    "detection",
    "ctc",
    "verification",
    "trigger_word",
]
Kind = Literal["tabular", "image", "sequence", "text"]
# how a source reads labels: for training, required on new data (evaluate), optional (predict)
Labels = Literal["train", "required", "optional"]

# how a task's targets are held in ``y``: one class index per example (``categorical``), one real
# value (``continuous``), or several labels, tokens or steps (``structured``); each task says which
LabelKind = Literal["categorical", "continuous", "structured"]


class TaskRules(Protocol):
    """What the data layer reads of a task: a :class:`dlkit.tasks.Task` (the registry's entry)
    says it, so that no loader compares task names.

    Attributes:
        name: the task's name (``Dataset.task``).
        labels: how its targets are held in ``y`` (:data:`LabelKind`).
        exact_classes: the number of classes it takes (binary: 2); None: any number from 2.
        multiple_targets: its labels are several 0/1 target columns `(n, targets)` (multitask).
        step_labels: its labels are one class per step of a sequence `(n, timesteps)`, padding
            masked (:mod:`dlkit.data.sequence_labels`).
    """

    name: str
    labels: LabelKind
    exact_classes: int | None
    multiple_targets: bool
    step_labels: bool


def task_rules(task: str) -> TaskRules:
    """The registered task called ``task``, for what a loader must know of it.

    Raises:
        BuildError: no such task.
    """
    # the task registry sits above the data layer; this is the data layer's one door to it,
    # opened at call time: the tasks import this module (and others that reach it), so the
    # import is a lazy cycle by design, and no other module the tasks reach may open a second
    # (tests/unit/test_task_names.py)
    from dlkit.tasks import task_for

    return task_for(task)


@dataclass
class Dataset:
    """Features, encoded targets and bookkeeping for one data source.

    Attributes:
        x: features, `(n, features)` for tables, `(n, height, width, channels)` for images,
            `(n, timesteps, features)` for sequences, token ids `(n, output_sequence_length)` for
            text (filled by :meth:`prepare` from train's vocabulary; zero-width before). Zero-width
            `(n, 0)` for a streamed source: its inputs are read from ``files`` batch by batch
            (:mod:`dlkit.data.pipeline`). A table with non-numeric columns or missing values holds
            a :class:`~dlkit.data.columns.TableColumns` (one raw input per column, described
            by ``options["columns"]``).
        y: class indices `(n,)` for classification, float targets `(n,)` for regression,
            `(n, tasks)` 0/1 labels with NaN where missing for multitask.
        ids: one stable identifier per example `(n,)` (an id column, or the row number).
        task: binary, multiclass, regression or multitask (several 0/1 targets).
        kind: tabular, image, sequence or text (decides how inputs are normalised and built).
        classes: original label values in index order (empty for regression; the task names,
            i.e. the target columns, for multitask).
        feature_names: one name per feature for tables, empty for images.
        metadata: columns carried to predictions and reports but not used as features.
        content_hash: sha256 of the source data, to detect a changed file.
        description: where the data came from, for messages.
        input_hashes: one 64-bit hash per example of its inputs (row values, image bytes,
            text), for the leakage check; None when the source cannot give one.
        files: per-example file paths (image folders), for streaming and reports.
        texts: raw strings of a text source `(n,)`.
        vocabulary: the text vocabulary adapted on train (index = token id), after ``prepare``.
        stream: inputs are not held in memory but read through ``tf.data`` batch by batch.
        options: source settings later stages need (image size, text vectorisation).
        labelled: ``y`` holds real labels; False for new data read without them (``dlkit
            predict``): ``y`` is then a placeholder of the right shape.
        examples: a few raw rows of a typed table as the file has them (the input example of
            the logged MLflow model, which takes raw rows).
        rows: how messages name an example's row in the file (a CSV file's line); 1-based
            positions when None (see :meth:`row_name`).
    """

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    task: Task
    kind: Kind
    classes: list[object]
    content_hash: str
    description: str
    feature_names: list[str] = field(default_factory=list)
    metadata: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    input_hashes: np.ndarray | None = None
    files: np.ndarray | None = None
    texts: np.ndarray | None = None
    vocabulary: list[str] = field(default_factory=list)
    stream: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    labelled: bool = True
    examples: pd.DataFrame | None = None
    rows: Callable[[int], str] | None = field(default=None, repr=False)

    def row_name(self, index: int) -> str:
        """The example at 0-based position ``index`` as its file names it (``line 7`` of a CSV
        file, else ``row 6 (1-based)``), for messages."""
        return self.rows(index) if self.rows is not None else f"row {int(index) + 1} (1-based)"

    @property
    def n_examples(self) -> int:
        return len(self.y)

    @property
    def vocab_size(self) -> int | None:
        """Token ids run from 0 to ``vocab_size - 1`` (0 padding, 1 out-of-vocabulary); text only."""
        if self.kind != "text":
            return None
        return len(self.vocabulary) if self.vocabulary else int(self.options["max_tokens"])

    @property
    def label_kind(self) -> LabelKind:
        """``categorical``, ``continuous`` or ``structured``, as the task says (:class:`TaskRules`)."""
        return task_rules(self.task).labels

    @property
    def classifies(self) -> bool:
        """One class index per example: stratified splits, class counts, label corrections."""
        return self.label_kind == "categorical"

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        if "input_shape" in self.options:
            return tuple(int(d) for d in self.options["input_shape"])
        return tuple(int(d) for d in self.x.shape[1:])

    def prepare(self, train: np.ndarray) -> None:
        """Fit what must be learned from train only before inputs exist (the text vocabulary).

        Args:
            train: indices of the training examples.
        """
        if self.kind == "text" and self.texts is not None:
            from dlkit.data.text import vectorize

            self.x, self.vocabulary = vectorize(self.texts, train, self.options)

    def use_vocabulary(self, vocabulary: list[str], target_vocabulary: list[str] | None = None) -> None:
        """Token ids from a stored vocabulary (a trained run's, adapted on its train set), where
        :meth:`prepare` would adapt one: new data never shapes the vocabulary.

        Args:
            vocabulary: tokens, index = token id.
            target_vocabulary: the output side's (text pairs only).
        """
        if self.kind == "text" and self.texts is not None:
            from dlkit.data.text import vectorize

            self.x, self.vocabulary = vectorize(self.texts, None, self.options, vocabulary)

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Original label values for encoded class indices (identity for other targets)."""
        if not self.classifies:
            return y
        return np.asarray(self.classes, dtype=object)[y.astype(int)]
