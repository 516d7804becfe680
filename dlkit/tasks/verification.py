"""Face verification and one-shot learning: an encoder of L2-normalised embeddings.

The labels are identities (one class index per image). The split gives every identity whole
to one set (:attr:`Task.split_by_label`), so dev and test hold people train never saw: the
model is judged on one-shot verification. The model ends with a dense layer of
``verification.embedding`` units divided by its L2 norm, trained with the triplet loss
(margin α, semi-hard or hard negatives mined within the batch: :mod:`dlkit.models.losses`).

Scoring one set (:mod:`dlkit.analysis.embedding`): its pairs (every positive pair and a seeded
sample of as many negatives) are judged "same" when their Euclidean distance is at most τ,
chosen on dev after training (:meth:`Verification.calibrate`) and stored with the run's metrics
(``threshold``). Metrics: ``verification_accuracy``, ``false_accept_rate``,
``false_reject_rate``, ``roc_auc`` (threshold-free), and per image ``accuracy``: one-shot
identification, the nearest other image of the set shows the same identity.

Predictions, one row per image: y_true, y_pred (the nearest other image's identity),
correct, confidence (``1 − distance / 2``), distance (to it), nearest (its position in the set),
positive_distance (the farthest image of the same identity: a false reject when above τ),
negative_distance (the closest other identity: a false accept when at most τ), loss
(``max(pos² − neg² + α, 0)``, the hardest triplet of the image), and the embedding ``emb_0``
... The reports read ``correct`` and the highest loss.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.analysis import embedding as emb
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

PAIR_SEED = 0  # the pairs of a set are the same in every run and every report


class VerificationSpec(Spec):
    """The embedding and its triplet loss (task verification)."""

    embedding: int = Field(default=32, ge=2, le=4096, description="Units of the L2-normalised embedding.")
    margin: float = Field(default=0.2, gt=0, le=4, description="α: how much farther a negative must be.")
    mining: Literal["semi_hard", "hard"] = Field(
        default="semi_hard",
        description="Negatives mined within the batch: semi_hard (FaceNet) or hard (per anchor).",
    )
    negatives_per_positive: int = Field(
        default=1, ge=1, le=100, description="Negative pairs sampled per positive pair when scoring a set."
    )


def embedding_columns(frame: pd.DataFrame) -> list[str]:
    """The ``emb_<k>`` columns of a predictions frame, in order."""
    names = [c for c in frame.columns if str(c).startswith("emb_")]
    return sorted(names, key=lambda c: int(str(c)[4:]))


class Verification(Task):
    name = "verification"
    summary = "one-shot verification: L2-normalised embedding, triplet loss, identities unseen in train"
    default_metric = "verification_accuracy"
    set_metrics = ("loss", "accuracy", "error", "verification_accuracy", "roc_auc")
    error_metric = "accuracy"
    reports = ("diagnose", "analyze_errors", "tune", "learning_curve", "lr_find")
    split_by_label = True
    truth_columns = ("y_true", "y_pred", "correct", "positive_distance", "negative_distance", "loss")
    # set-level metrics read through the per-image one-shot mistakes (as a classifier's ROC AUC)
    RATE_METRICS = ("verification_accuracy", "roc_auc")

    def __init__(self, spec: VerificationSpec | None = None, threshold: float | None = None) -> None:
        self.spec = spec or VerificationSpec()
        self.threshold = threshold

    def configured(self, recipe: Recipe) -> Verification:
        task = copy.copy(self)
        task.spec = getattr(recipe, "verification", None) or VerificationSpec()
        return task

    def check(self, recipe: Recipe, data: Dataset) -> None:
        super().check(recipe, data)
        from dlkit.errors import DataError, RecipeError

        if recipe.train.loss is not None:
            raise RecipeError(
                f"train.loss: task verification trains with the triplet loss (set verification.margin "
                f"and verification.mining instead of {recipe.train.loss})"
            )
        if recipe.train.class_weight is not None:
            raise RecipeError(
                "train.class_weight: not used by task verification (a triplet loss has no classes)"
            )
        if data.labelled and data.n_classes < 3:
            raise DataError(
                f"{data.description}: task verification needs identities for train, dev and test "
                f"(got {data.n_classes})"
            )

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(self.spec.embedding, "linear", normalize=True)

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.losses import TripletLoss

        return TripletLoss(self.spec.margin, self.spec.mining)

    def compile_metrics(self, data: Dataset) -> list[Any]:
        return []

    def embed(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> np.ndarray:
        """The embeddings `(n, d)` of the examples at ``indices``, in inference mode."""
        x, _ = self.fit_arrays(data, indices)
        return np.asarray(model.predict(x, batch_size=max(recipe.train.batch_size, 256), verbose=0))

    def calibrate(
        self, model: keras.Model, recipe: Recipe, data: Dataset, parts: SplitResult
    ) -> Verification:
        """τ with the best pair accuracy on dev (on train when the split has no dev)."""
        task = self.configured(recipe)
        name = "dev" if len(parts.indices("dev")) else "train"
        indices = parts.indices(name)
        e = task.embed(model, data, indices, recipe)
        pairs = emb.verification_pairs(data.y[indices], PAIR_SEED, task.spec.negatives_per_positive)
        task.threshold = emb.choose_threshold(emb.pair_distances(e, pairs), pairs.same)
        return task

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        task = self.configured(recipe)
        return task.score(task.embed(model, data, indices, recipe), data.y[indices], data)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        e = np.asarray(outputs, dtype=np.float64)
        labels = np.asarray(data.classes, dtype=object)
        y_idx = np.asarray(y).astype(int)
        near = emb.nearest(e, y_idx)
        has_other = near.index >= 0
        pred_idx = np.where(has_other, y_idx[np.maximum(near.index, 0)], -1)
        loss = np.maximum(near.positive_distance**2 - near.negative_distance**2 + self.spec.margin, 0.0)
        frame = pd.DataFrame(
            {
                "y_true": pd.array(labels[y_idx].tolist()) if len(y_idx) else pd.array([], dtype=object),
                "y_pred": pd.array([labels[p] if p >= 0 else None for p in pred_idx], dtype=object),
                "correct": pred_idx == y_idx,
                # unit embeddings are at most 2 apart: 1 at distance 0, 0 at the far side
                "confidence": np.clip(1.0 - near.distance / 2.0, 0.0, 1.0),
                "distance": near.distance,
                "nearest": np.where(has_other, near.index, -1),
                "positive_distance": near.positive_distance,
                "negative_distance": near.negative_distance,
                "loss": np.nan_to_num(loss, nan=0.0),
            }
        )
        for k in range(e.shape[1] if e.ndim == 2 else 0):
            frame[f"emb_{k}"] = e[:, k]
        return Scored(frame, self._metrics(frame, e, y_idx))

    def _metrics(self, frame: pd.DataFrame, e: np.ndarray, y_idx: np.ndarray) -> dict[str, float]:
        n = len(frame)
        correct = frame["correct"].to_numpy(dtype=bool)
        accuracy = float(correct.mean()) if n else math.nan
        pairs = emb.verification_pairs(y_idx, PAIR_SEED, self.spec.negatives_per_positive)
        distances = emb.pair_distances(e, pairs)
        threshold = (
            self.threshold if self.threshold is not None else emb.choose_threshold(distances, pairs.same)
        )
        return {
            "n": n,
            "loss": float(frame["loss"].mean()) if n else math.nan,
            "accuracy": accuracy,
            "error": 1 - accuracy,
            **emb.verification_scores(distances, pairs.same, threshold),
        }

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        index = {str(c): i for i, c in enumerate(classes)}
        y_idx = np.array([index[str(v)] for v in frame["y_true"]], dtype=np.int64)
        e = frame[embedding_columns(frame)].to_numpy(dtype=np.float64)
        return self._metrics(frame, e, y_idx)

    def error_columns(self, metric: str | None) -> list[str]:
        if metric in self.RATE_METRICS:
            return ["correct"]
        return super().error_columns(metric)

    def label_summary(self, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
        return {"identities": len(np.unique(np.asarray(y, dtype=np.int64)))}
