"""Suspected label errors by confident learning (cleanlab), from out-of-sample probabilities.

The probabilities must be out-of-sample: predictions of a model that never trained on the
example (the stored dev/test predictions of a run, or K-fold cross-validated predictions).
Every flag is a suspicion for a person to confirm, never an automatic correction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlkit.errors import DataError

if TYPE_CHECKING:
    from dlkit.training.cross_val import FoldEnd
    from dlkit.rundir import RunDir

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


def folds_label_issues(
    run: RunDir,
    info: dict[str, Any],
    folds: int,
    sets: Sequence[str],
    on_fold: Callable[[FoldEnd], None] | None = None,
) -> LabelIssuesResult:
    """Suspected label errors in ``sets`` from K-fold cross-validated predictions of the run's recipe.

    The recipe's model is retrained K times on the run's data (labels as the run had them,
    corrections included; the run's own split); the out-of-sample probabilities are saved to
    ``analysis/oos_probabilities.parquet`` in the run directory.

    Raises:
        DlkitError: the data source is unavailable or changed since the run, a bad K, a model
            that cannot be built.
    """
    from dlkit.training.cross_val import cross_val_probabilities, pool_indices
    from dlkit.data.corrections import apply_corrections
    from dlkit.data.sources import load_source
    from dlkit.recipe.loader import load_recipe

    name = str(info.get("run_name", run.path.name))
    recipe = load_recipe(run.recipe_path)
    columns = recipe.data.split.columns() if recipe.data.split is not None else []
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd(), columns)
    if data.stream:
        raise DataError(
            f"run '{name}': --folds retrains in memory and does not support streamed sources "
            f"({data.description})",
            hint="set stream: false on the source, or use --label-issues without --folds",
        )
    if info.get("content_hash") and data.content_hash != info["content_hash"]:
        raise DataError(
            f"run '{name}': its data ({data.description}) changed since the run (content hash differs)",
            hint="--folds retrains the run's recipe on the run's data; restore it or train a new run",
        )
    if recipe.data.corrections is not None:
        data, _ = apply_corrections(data, recipe.data.corrections)
    manifest = run.manifest()
    set_of = dict(zip(manifest["id"].astype(str), manifest["set"].astype(str), strict=True))
    example_sets = np.asarray([set_of.get(str(i), "") for i in data.ids.tolist()], dtype=object)
    if (example_sets == "").any():
        missing = data.ids[example_sets == ""][0]
        raise DataError(
            f"run '{name}': example {missing!r} of {data.description} is not in split/manifest.parquet"
        )
    data.prepare(np.flatnonzero(example_sets == "train"))  # text: the vocabulary of the run's train
    pool, always = pool_indices(example_sets, sets)
    if not len(pool):
        raise DataError(f"run '{name}': no examples in {', '.join(sets)}")
    cv = cross_val_probabilities(recipe, data, pool, always, folds, on_fold=on_fold)
    labels = data.y[pool].astype(np.int64)
    ids = data.ids[pool].tolist()
    result = label_issues(
        labels,
        cv.probs,
        ids,
        data.classes,
        example_sets[pool].tolist(),
        source=(
            f"{folds}-fold cross-validated predictions of the recipe's {recipe.model.type} model on "
            f"{' + '.join(sets)} (retrained {folds} times; each example predicted by a model that never "
            "trained on it)"
        ),
    )
    frame = pd.DataFrame(
        {
            "id": ids,
            "set": example_sets[pool],
            "y_true": [str(data.classes[k]) for k in labels],
            "fold": cv.fold + 1,
        }
    )
    for k in range(cv.probs.shape[1]):
        frame[f"proba_{k}"] = cv.probs[:, k]
    path = run.path / "analysis" / "oos_probabilities.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    result.probabilities_path = path
    result.sets = list(sets)
    return result


def write_label_issues(result: LabelIssuesResult, path: Path) -> Path:
    """The ranked list as CSV with an empty ``corrected_label`` column for a person to fill.

    Filled, it goes back through ``dlkit analyze-errors RUN --apply-corrections``.
    """
    from dlkit.data.corrections import CORRECTED_LABEL

    frame = pd.DataFrame(
        [asdict(i) for i in result.issues],
        columns=["id", "set", "given", "suggested", "label_quality", "suggested_proba"],
    )
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame[CORRECTED_LABEL] = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def precision_recall(flagged: Sequence[int], truly_wrong: Sequence[int]) -> tuple[float, float]:
    """Precision and recall of a flagged set of indices against the truly mislabelled ones."""
    flagged_set, wrong_set = set(int(i) for i in flagged), set(int(i) for i in truly_wrong)
    hits = len(flagged_set & wrong_set)
    precision = hits / len(flagged_set) if flagged_set else float("nan")
    recall = hits / len(wrong_set) if wrong_set else float("nan")
    return precision, recall
