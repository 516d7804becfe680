"""Out-of-sample class probabilities by K-fold cross-validation of a recipe's own Keras model.

Confident learning needs, for every example it judges, the probabilities of a model that never
trained on that example. The examples to judge (the *pool*: dev and test by default, train on
request) are cut into K stratified folds; for each fold the recipe's model is built, normalised
and fitted exactly as ``dlkit train`` does (:func:`dlkit.training.pipeline.fit_model`
and :func:`~dlkit.training.fit.fit` on the epoch-keyed stream, normalisation statistics from
that fold's training data only) on the run's train set plus the other K - 1
folds, and predicts the held-out fold. Every pool example thus gets exactly one out-of-sample
prediction.

TensorFlow is imported inside :func:`cross_val_probabilities` only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlkit.data.dataset import Dataset
from dlkit.errors import DataError, RecipeError

log = logging.getLogger(__name__)

VALIDATION_SHARE = 0.1


@dataclass(frozen=True)
class FoldEnd:
    """Reported after each fold is trained and has predicted its held-out examples.

    Attributes:
        fold: 1-based fold number.
        folds: K.
        n_train: examples the fold's model trained on.
        n_held_out: examples it predicted.
        accuracy: its accuracy on them, against the given labels.
    """

    fold: int
    folds: int
    n_train: int
    n_held_out: int
    accuracy: float


@dataclass
class CrossValResult:
    """Out-of-sample probabilities of the pool examples.

    Attributes:
        pool: indices into the dataset of the judged examples `(n,)`.
        probs: class probabilities `(n, classes)`, row i from the fold that held out ``pool[i]``.
        fold: the fold (0-based) that held each example out `(n,)`.
        folds: K.
    """

    pool: np.ndarray
    probs: np.ndarray
    fold: np.ndarray
    folds: int


def fold_assignment(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A seeded, stratified fold number (0..K-1) for each example.

    Raises:
        RecipeError: K < 2 or more folds than examples.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(labels)
    if folds < 2:
        raise RecipeError(f"--folds: expected at least 2 folds (got {folds})")
    if folds > n:
        raise RecipeError(f"--folds: {folds} folds for {n} examples; expected at most {n}")
    counts = np.bincount(labels.astype(int)) if n else np.zeros(0, dtype=int)
    present = counts[counts > 0]
    # stratify where every class can appear in every fold; else plain shuffled folds
    splitter: Any = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if len(present) and present.min() >= folds
        else KFold(folds, shuffle=True, random_state=seed)
    )
    assignment = np.empty(n, dtype=np.int64)
    for k, (_, held) in enumerate(splitter.split(np.zeros(n), labels)):
        assignment[held] = k
    return assignment


def _validation_split(train: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a seeded share of a fold's training data for early stopping (never the held-out fold)."""
    rng = np.random.default_rng(seed)
    take = np.zeros(len(train), dtype=bool)
    for c in np.unique(y[train]):
        members = np.flatnonzero(y[train] == c)
        k = round(VALIDATION_SHARE * len(members))
        if k and k < len(members):
            take[rng.choice(members, size=k, replace=False)] = True
    if not take.any():
        take[rng.choice(len(train), size=max(1, len(train) // 10), replace=False)] = True
    return train[~take], train[take]


def cross_val_probabilities(
    recipe: Any,
    data: Dataset,
    pool: np.ndarray,
    always_train: np.ndarray,
    folds: int,
    *,
    on_fold: Callable[[FoldEnd], None] | None = None,
) -> CrossValResult:
    """K-fold out-of-sample probabilities of ``data``'s ``pool`` examples from the recipe's model.

    Args:
        recipe: the validated recipe (model, train section, seed, normalisation).
        data: the dataset, labels as the run trained on them (corrections applied).
        pool: indices of the examples to predict out of sample.
        always_train: indices every fold also trains on (the run's train set when not pooled).
        folds: K.
        on_fold: called after each fold.

    Returns:
        The probabilities, aligned with ``pool``.

    Raises:
        DlkitError: a regression dataset, a bad K, a model that cannot be built.
    """
    from dlkit.tasks import task_for

    if not task_for(data.task).classifies:
        raise DataError(f"label issues need a classification task (the data is {data.task})")
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras

    pool = np.asarray(pool, dtype=np.int64)
    always_train = np.asarray(always_train, dtype=np.int64)
    y = data.y.astype(np.int64)
    assignment = fold_assignment(y[pool], folds, recipe.seed)
    probs = np.zeros((len(pool), data.n_classes), dtype=np.float64)
    # K fresh models retrace their predict functions by design: TensorFlow's warning is noise here
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)
    try:
        _fit_folds(recipe, data, pool, always_train, assignment, probs, on_fold)
    finally:
        tf_log.setLevel(level)
        keras.backend.clear_session()
    return CrossValResult(pool=pool, probs=probs, fold=assignment, folds=folds)


def _fit_folds(
    recipe: Any,
    data: Dataset,
    pool: np.ndarray,
    always_train: np.ndarray,
    assignment: np.ndarray,
    probs: np.ndarray,
    on_fold: Callable[[FoldEnd], None] | None,
) -> None:
    import keras

    from dlkit._tf_memory import released_custom_gradients
    from dlkit.tasks import task_for
    from dlkit.training.pipeline import fit_model
    from dlkit.training.runtime import training_runtime

    spec = recipe.train
    task = task_for(data.task)
    y = data.y.astype(np.int64)
    folds = int(assignment.max()) + 1
    for k in range(folds):
        held = pool[assignment == k]
        train = np.concatenate([always_train, pool[assignment != k]])
        if spec.early_stopping is not None:
            train, validation = _validation_split(train, y, recipe.seed + k)
        else:
            # validation logs only: nothing is chosen on them, so a slice of train will do
            validation = train[: min(len(train), 512)]
        keras.backend.clear_session()
        fold_recipe = recipe.model_copy(update={"seed": recipe.seed + k})
        # each fold's traced train step would otherwise stay registered in TensorFlow for good
        with released_custom_gradients(), training_runtime(spec, fold_recipe.seed) as runtime:
            # `dlkit train`'s own build and fit (normalisation fitted on this fold's training
            # part only, recipe-wide penalty, initialiser, augmentation, epoch-keyed stream)
            fitted = fit_model(fold_recipe, data, np.sort(train), validation, runtime)
            scored = task.predict(fitted.model, data, held, fold_recipe)
            fold_probs = scored.frame[[f"proba_{c}" for c in range(data.n_classes)]].to_numpy(np.float64)
        probs[assignment == k] = fold_probs
        accuracy = float((fold_probs.argmax(axis=1) == y[held]).mean()) if len(held) else float("nan")
        log.info(
            "fold %d/%d: trained on %d, accuracy %.3f on %d held out",
            k + 1,
            folds,
            len(train),
            accuracy,
            len(held),
        )
        if on_fold is not None:
            on_fold(FoldEnd(k + 1, folds, len(train), len(held), accuracy))


def pool_indices(sets_of_examples: np.ndarray, judged: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The pool (examples of the judged sets) and the examples every fold also trains on.

    ``train`` examples train every fold unless train is itself judged; train-dev, dev and test
    examples outside the pool are left out, as ``dlkit train`` leaves them out.
    """
    sets_of_examples = np.asarray(sets_of_examples, dtype=object)
    pool = np.flatnonzero(np.isin(sets_of_examples, list(judged)))
    always = np.flatnonzero(sets_of_examples == "train") if "train" not in judged else np.zeros(0, np.int64)
    return pool, always
