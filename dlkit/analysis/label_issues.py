"""Suspected label errors by confident learning (cleanlab), from out-of-sample probabilities.

The probabilities must be out-of-sample: predictions of a model that never trained on the
example (the stored dev/test predictions of a run, or K-fold cross-validated predictions).
Every flag is a suspicion for a person to confirm, never an automatic correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")

CAVEAT = (
    "These are suspicions from the model's out-of-sample probabilities: a person must look at "
    "each flagged example and confirm it before any label is changed."
)


@dataclass(frozen=True)
class LabelIssue:
    """One example whose given label the model doubts.

    Attributes:
        id: the example's id.
        set: the set it belongs to (dev, test, ...).
        given: its label as given.
        suggested: the class the model finds most likely.
        label_quality: the model's probability of the given label (self-confidence; low = suspect).
        suggested_proba: the model's probability of the suggested class.
    """

    id: str
    set: str
    given: str
    suggested: str
    label_quality: float
    suggested_proba: float


@dataclass
class LabelIssuesResult:
    """A ranked list of suspected label errors.

    Attributes:
        n_examples: examples checked.
        oos_accuracy: accuracy of the out-of-sample predictions the flags come from.
        n_disagree: examples where the prediction differs from the label (the naive baseline).
        issues: flagged examples, most suspect first.
        source: where the probabilities came from.
        caveat: a person must confirm each flag.
        notes: anything the reader should know.
        sets: the sets checked.
        probabilities_path: where the out-of-sample probabilities were saved (K-fold only).
    """

    n_examples: int
    oos_accuracy: float
    n_disagree: int
    issues: list[LabelIssue]
    source: str
    caveat: str = CAVEAT
    notes: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    probabilities_path: Path | None = None


def flag_label_issues(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Indices of suspected label errors, most suspect first (cleanlab confident learning).

    Args:
        labels: given class indices `(n,)`.
        pred_probs: out-of-sample class probabilities `(n, classes)`.

    Returns:
        Indices into ``labels``, ranked by self-confidence (lowest first).
    """
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return np.asarray(
        find_label_issues(labels, probs, return_indices_ranked_by="self_confidence"), dtype=np.int64
    )


def label_issues(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    ids: Sequence[Any],
    classes: Sequence[Any],
    sets: Sequence[str] | None = None,
    source: str = "out-of-sample probabilities",
) -> LabelIssuesResult:
    """Suspected label errors with the out-of-sample accuracy they rest on.

    Args:
        labels: given class indices `(n,)`.
        pred_probs: out-of-sample probabilities `(n, classes)`.
        ids: example ids `(n,)`.
        classes: class labels in index order.
        sets: the set of each example (``dev`` when absent).
        source: where the probabilities came from, for the report.

    Returns:
        The ranked list.

    Raises:
        DataError: shapes disagree, or a class has no example (confident learning needs each
            given class at least once).
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=np.float64)
    n = len(labels)
    if probs.shape != (n, len(classes)) or len(ids) != n:
        raise DataError(
            f"label issues: {n} labels, {len(ids)} ids and probabilities of shape {probs.shape} "
            f"for {len(classes)} classes do not match"
        )
    predicted = probs.argmax(axis=1)
    notes = []
    missing = sorted(set(range(len(classes))) - set(labels.tolist()))
    if missing:
        notes.append(f"classes without any example here: {', '.join(str(classes[k]) for k in missing)}")
    ranked = flag_label_issues(labels, probs)
    set_names = list(sets) if sets is not None else ["dev"] * n
    issues = [
        LabelIssue(
            id=str(ids[i]),
            set=set_names[i],
            given=str(classes[labels[i]]),
            suggested=str(classes[predicted[i]]),
            label_quality=float(probs[i, labels[i]]),
            suggested_proba=float(probs[i, predicted[i]]),
        )
        for i in ranked
    ]
    return LabelIssuesResult(
        sets=list(dict.fromkeys(set_names)),
        n_examples=n,
        oos_accuracy=float((predicted == labels).mean()) if n else float("nan"),
        n_disagree=int((predicted != labels).sum()),
        issues=issues,
        source=source,
        notes=notes,
    )


def from_predictions(frames: dict[str, pd.DataFrame], classes: Sequence[Any]) -> LabelIssuesResult:
    """Suspected label errors from a run's stored predictions (out-of-sample for dev and test).

    Args:
        frames: set name -> its predictions (``id``, ``y_true``, ``proba_<k>``).
        classes: class labels in index order.

    Raises:
        DataError: a frame lacks probabilities or holds a label that is not a class.
    """
    index = {str(c): k for k, c in enumerate(classes)}
    labels, probs, ids, sets = [], [], [], []
    for name, frame in frames.items():
        columns = [f"proba_{k}" for k in range(len(classes))]
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise DataError(f"predictions/{name}.parquet: no column '{absent[0]}' (class probabilities)")
        for value in frame["y_true"].astype(str):
            if value not in index:
                raise DataError(
                    f"predictions/{name}.parquet: label {value!r} is not one of the run's classes"
                )
            labels.append(index[value])
        probs.append(frame[columns].to_numpy(dtype=np.float64))
        ids.extend(frame["id"].tolist())
        sets.extend([name] * len(frame))
    names = " + ".join(frames)
    return label_issues(
        np.asarray(labels),
        np.concatenate(probs) if probs else np.zeros((0, len(classes))),
        ids,
        classes,
        sets,
        source=f"stored predictions on {names} (out-of-sample: the model never trained on them)",
    )


def precision_recall(flagged: Sequence[int], truly_wrong: Sequence[int]) -> tuple[float, float]:
    """Precision and recall of a flagged set of indices against the truly mislabelled ones."""
    flagged_set, wrong_set = set(int(i) for i in flagged), set(int(i) for i in truly_wrong)
    hits = len(flagged_set & wrong_set)
    precision = hits / len(flagged_set) if flagged_set else float("nan")
    recall = hits / len(wrong_set) if wrong_set else float("nan")
    return precision, recall
