"""How the run reports read each task's predictions: what :class:`dlkit.tasks.Task` does not say yet.

``diagnose`` and ``analyze-errors`` ask the task registry (:func:`dlkit.tasks.task_for`) which
reports apply (``refuse``), the default metric, and the per-example error (``error_columns``,
``example_errors``). What else they need per task sits here, one entry per task class (the
readers register on the class, not its name: runs/ sits above tasks/, which cannot name them):

- ``parts``: the frames a report reads: a multitask run's one binary frame per task
  (:meth:`~dlkit.tasks.multitask.Multitask.subtask_frame`), any other run's predictions as they are;
- ``error_name``: the error in words, for the reports (``error = 1 − exact match``);
- ``reading``: the error analysis of the dev set, and whether its errors go on a sheet to tag.

A task without an entry (nor a base class with one) is diagnosed as its registry entry says;
``analyze-errors`` refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.errors import UnsupportedRunError
from dlkit.tasks import Task
from dlkit.tasks.binary import Binary
from dlkit.tasks.ctc import CTC
from dlkit.tasks.detection import Detection
from dlkit.tasks.landmarks import PCK_THRESHOLD, Landmarks
from dlkit.tasks.localization import Localization
from dlkit.tasks.multiclass import Multiclass
from dlkit.tasks.multitask import Multitask
from dlkit.tasks.regression import Regression
from dlkit.tasks.segmentation import Segmentation
from dlkit.tasks.seq2seq import Seq2Seq
from dlkit.tasks.sequence_labeling import SequenceLabeling
from dlkit.tasks.trigger_word import TriggerWord
from dlkit.tasks.verification import Verification

if TYPE_CHECKING:
    import pandas as pd

    from dlkit.analysis.ctc_errors import CTCErrors
    from dlkit.analysis.detection import DetectionErrors
    from dlkit.analysis.error_analysis import SetReport
    from dlkit.analysis.image_errors import PartsReport
    from dlkit.analysis.residuals import RegressionReport
    from dlkit.analysis.sequence_errors import SequenceReport
    from dlkit.rundir import RunDir
    from dlkit.runs.attention import AttentionMap
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

SINGLE = ""  # the part name of a run with one target


@dataclass
class Reading:
    """The error analysis of a run's dev set: the one field its task fills.

    Attributes:
        whole_set: a classification's per-class metrics, confusion, highest loss and slices.
        sequence: a sequence task's exact match against position accuracy, worst examples,
            error by length.
        regression: a regression's residuals.
        per_task: a multitask run's classification reading of each task.
        detection: a detector's misses and false detections by class, box size and IoU.
        parts: an image task read by part (class, point) and by image.
        ctc: a CTC model's character edits, confusions and collapsed repeats.
    """

    whole_set: SetReport | None = None
    sequence: SequenceReport | None = None
    regression: RegressionReport | None = None
    per_task: dict[str, SetReport] = field(default_factory=dict)
    detection: DetectionErrors | None = None
    parts: PartsReport | None = None
    ctc: CTCErrors | None = None


class TaskReports:
    """The reports' reading of one task's predictions (the default: diagnose only).

    Attributes:
        task: the registered task.
        sheet: the dev errors are per-example mistakes (a ``correct`` column) a person can
            sample and tag on the error sheet.
        sheet_columns: prediction columns the sheet carries besides id, labels, confidence and loss.
        example_inputs: the sheet's examples page shows each example's input from the data source.
        every_set: the reading compares every set, not only dev.
        required: the dev prediction columns the reading needs.
        no_sheet: why the task has no sheet, for the refusal of the sheet options.
        uses_classes: the reading needs the run's classes (class or part names).
        columns_read: the prediction columns the reading reads when it can take them as
            :class:`~dlkit.analysis.columns.Columns` (read without pandas) rather than a frame:
            with no metadata column to slice by and :meth:`prepare` left as it is; empty: a
            frame always.
    """

    sheet = False
    uses_classes = False
    no_sheet = "it has no error analysis"
    sheet_columns: tuple[str, ...] = ()
    example_inputs = False
    every_set = False
    required: tuple[str, ...] = ("id",)
    columns_read: tuple[str, ...] = ()

    def __init__(self, task: Task) -> None:
        self.task = task

    def columns(self, metric: str) -> list[str] | None:
        """The prediction columns diagnose reads (None: all of them).

        Raises:
            ValueError: a metric the task cannot turn into a per-example error.
        """
        return self.task.error_columns(metric)

    def proportion(self, metric: str) -> bool:
        """Whether the error is a rate (per-example mistakes) rather than a mean loss."""
        return self.task.error_columns(metric) == ["correct"]

    def parts(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The frames a report reads, by part name (:data:`SINGLE` for a run with one target)."""
        return {SINGLE: frame}

    def error_name(self, metric: str) -> str:
        """The error the reports show, in words."""
        own = self.task.error_name(metric)
        if own:
            return own
        if self.proportion(metric):
            return f"error = 1 − {self.task.error_metric.replace('_', ' ')}"
        return f"{metric} (mean per-example loss)"

    def notes(self) -> list[str]:
        """What a reader of this task's diagnosis must know."""
        return []

    def attention(self, run: RunDir, recipe: dict[str, Any], dev: pd.DataFrame) -> list[AttentionMap]:
        """Attention maps of chosen dev examples for the error analysis's page (none by default)."""
        return []

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A predictions frame as the error analysis shows it."""
        return frame

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        """The error analysis of ``sets["dev"]``.

        Args:
            sets: dev's predictions (and every other set's when :attr:`every_set`).
            looked: the dev rows a person looks at (the eyeball part, or all of dev).
            classes: the run's classes, in index order.
            metadata: the metadata columns to slice by.

        Raises:
            UnsupportedRunError: the task has no error analysis.
        """
        raise UnsupportedRunError(
            f"analyze-errors does not read the predictions of task {self.task.name} yet"
        )


class ClassReports(TaskReports):
    """One class label per example: the classification reading, the sheet, label issues."""

    sheet = True
    example_inputs = True
    uses_classes = True
    required = ("id", "y_true", "y_pred", "correct", "loss")
    columns_read = ("id", "y_true", "y_pred", "correct", "confidence", "loss")

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.error_analysis import highest_loss, set_report

        dev = sets["dev"]
        whole = set_report(dev, classes, metadata)
        if looked is not dev:
            # with an eyeball / black-box dev split, a person only ever looks at the eyeball part
            whole.highest_loss = highest_loss(looked, len(whole.highest_loss) or 10, metadata)
        return Reading(whole_set=whole)


class RegressionReports(TaskReports):
    """A real-valued target: residuals (largest errors, by range of the target and by metadata)."""

    required = ("id", "y_true", "y_pred")
    no_sheet = "its errors are real values, not mistakes to sample and tag"

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.residuals import regression_report

        return Reading(regression=regression_report(sets["dev"], metadata))


class SequenceReports(TaskReports):
    """A sequence per example: wrong sequences on the sheet, position accuracy, error by length.

    Args:
        task: the registered task.
        score: the per-example position accuracy column.
        weighted: pool position accuracy over positions rather than average it over examples.
        carried: columns the sheet carries.
        note: what a reader of the diagnosis must know.
        higher_better: the score is an accuracy (an error rate when False: the worst are highest).
    """

    sheet = True
    every_set = True

    def __init__(
        self,
        task: Task,
        score: str,
        weighted: bool,
        carried: tuple[str, ...],
        note: str = "",
        higher_better: bool = True,
    ) -> None:
        super().__init__(task)
        self.score = score
        self.weighted = weighted
        self.higher_better = higher_better
        self.sheet_columns = carried
        self.required = ("id", "y_true", "y_pred", "correct", score, "length")
        self._note = note

    def notes(self) -> list[str]:
        return [self._note] if self._note else []

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        # per-step labels are stored as lists: one line of space-separated labels reads better
        out = frame.copy()
        for column in ("y_true", "y_pred"):
            if len(out) and not isinstance(out[column].iloc[0], str):
                out[column] = out[column].map(
                    lambda labels: " ".join(str(v) for v in np.asarray(labels).tolist())
                )
        return out

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.sequence_errors import sequence_report

        report = sequence_report(
            sets,
            self.score,
            weighted=self.weighted,
            metadata_columns=metadata,
            examples=looked,
            higher_better=self.higher_better,
        )
        return Reading(sequence=report)


class Seq2SeqReports(SequenceReports):
    """Decoded sequences: the sequence reading, and where the decoder looked (attention maps)."""

    def attention(self, run: RunDir, recipe: dict[str, Any], dev: pd.DataFrame) -> list[AttentionMap]:
        from dlkit.runs.attention import attention_maps

        return attention_maps(run, recipe, dev)


class CTCReports(SequenceReports):
    """Strings read by a CTC model: the sequence reading, and what its CER is made of (character
    substitutions, deletions and insertions; confusions; repeats collapsed by the decoding)."""

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.ctc_errors import ctc_errors

        reading = super().reading(sets, looked, classes, metadata)
        reading.ctc = ctc_errors(sets)
        return reading


class PerTaskReports(TaskReports):
    """Several 0/1 targets: every task read as a binary classification of its labelled examples."""

    no_sheet = "its tasks are read one by one, each as a binary classification, without a sheet"

    def columns(self, metric: str) -> list[str] | None:
        self.task.error_columns(metric)  # refuses a metric it cannot read
        return None  # each task's y_true_<task>, proba_<task> and pred_<task>

    def parts(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        task: Any = self.task
        return {name: task.subtask_frame(frame, name) for name in task.subtasks(frame)}

    def error_name(self, metric: str) -> str:
        return "error = 1 − accuracy, per task on its labelled examples"

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.error_analysis import set_report

        return Reading(
            per_task={
                name: set_report(frame, [0, 1], metadata) for name, frame in self.parts(sets["dev"]).items()
            }
        )


class DetectionReports(TaskReports):
    """Images with boxes: misses and false detections by class, box size and IoU; the worst images."""

    required = ("id", "y_true", "y_pred", "misses", "false_detections", "correct", "width", "height")
    no_sheet = "its errors are boxes (misses, false detections), read by class, size and IoU"

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.analysis.detection import detection_errors

        return Reading(detection=detection_errors(sets["dev"], [str(c) for c in classes]))


class PartsReports(TaskReports):
    """An image scored per part: segmentation by class and by image, landmarks by point and by image.

    Args:
        task: the registered task.
        prefix: the per-part column prefix of the predictions (``iou_``, ``error_``).
        read: the analysis: ``(dev frame, part names, their columns) -> PartsReport``.
        error: the per-example error in words.
    """

    no_sheet = "its errors are scores per part and per image, not mistakes to sample and tag"
    uses_classes = True

    def __init__(
        self,
        task: Task,
        prefix: str,
        read: Callable[[pd.DataFrame, Sequence[Any], list[str]], PartsReport],
        error: str,
    ) -> None:
        super().__init__(task)
        self.prefix = prefix
        self.read = read
        self._error = error
        self.required = ("id", *task.error_columns(None))

    def error_name(self, metric: str) -> str:
        return (
            self._error
            if self.task.error_columns(metric) == self.task.error_columns(None)
            else super().error_name(metric)
        )

    def reading(
        self,
        sets: Mapping[str, pd.DataFrame],
        looked: pd.DataFrame,
        classes: Sequence[Any],
        metadata: Sequence[str],
    ) -> Reading:
        from dlkit.tasks._images import column_name

        columns = [f"{self.prefix}{column_name(c)}" for c in classes]
        return Reading(parts=self.read(sets["dev"], classes, columns))


def _landmarks_report(frame: pd.DataFrame, points: Sequence[Any], columns: list[str]) -> PartsReport:
    from dlkit.analysis.image_errors import landmarks_report

    return landmarks_report(frame, points, columns, PCK_THRESHOLD)


def _segmentation_report(frame: pd.DataFrame, classes: Sequence[Any], columns: list[str]) -> PartsReport:
    from dlkit.analysis.image_errors import segmentation_report

    return segmentation_report(frame, classes, columns)


def _sequence(
    score: str, weighted: bool, carried: tuple[str, ...], note: str = "", higher_better: bool = True
) -> Callable[[Task], TaskReports]:
    return lambda task: SequenceReports(task, score, weighted, carried, note, higher_better)


_ENTRIES: dict[type[Task], Callable[[Task], TaskReports]] = {
    Binary: ClassReports,
    Multiclass: ClassReports,
    Regression: RegressionReports,
    Verification: ClassReports,  # one identity per image: y_pred is the nearest image's
    Multitask: PerTaskReports,
    Detection: DetectionReports,
    Localization: ClassReports,  # correct: the right class and IoU >= 0.5
    Landmarks: lambda task: PartsReports(
        task,
        "error_",
        _landmarks_report,
        "nme: mean distance of a point to its truth, as a share of the image side",
    ),
    Segmentation: lambda task: PartsReports(
        task, "iou_", _segmentation_report, "error = 1 − image IoU (mean IoU of the image's classes)"
    ),
    Seq2Seq: lambda task: Seq2SeqReports(
        task,
        "token_accuracy",
        False,
        ("input", "token_accuracy", "bleu", "length"),
        "with metrics.optimize: bleu an example's error is 1 − its sentence BLEU (exp-smoothed), whose "
        "mean is not the corpus BLEU of metrics.json",
    ),
    SequenceLabeling: _sequence(
        "step_accuracy",
        True,
        ("step_accuracy", "length"),
        "a sequence is an error when any of its steps is wrong (1 − exact match); metrics.json's "
        "error for per-step labels is 1 − step accuracy, over steps",
    ),
    CTC: lambda task: CTCReports(
        task,
        "cer",
        True,
        ("cer", "length"),
        "cer per set is pooled over characters (edits / reference characters), as metrics.json's",
        higher_better=False,
    ),
    TriggerWord: _sequence(
        "f1",
        False,
        ("triggers", "detections", "missed", "false_detections", "f1"),
        "a clip is an error when it misses a planted trigger or detects one that is not there; its "
        "score is the F1 of its positive steps (1 with no trigger and no detection), whose mean is "
        "not metrics.json's f1 (pooled over the set's steps); length is the clip's planted triggers",
    ),
}


def reports_for(task: Task) -> TaskReports:
    """The reports' reading of ``task``: its class's entry, or its nearest base class's (a task
    built on another reads as it does); the default, diagnose only, for a task without one."""
    entry = next((_ENTRIES[c] for c in type(task).__mro__ if c in _ENTRIES), TaskReports)
    return entry(task)
