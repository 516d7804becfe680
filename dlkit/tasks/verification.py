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

``verification.objective: pairs`` trains the same encoder as a binary classifier on pairs
instead (the siamese alternative to the triplet loss): ``ŷ = σ(β − Σ_k w_k·|f(x1)_k − f(x2)_k|)``
on every pair of each batch, binary cross-entropy (:class:`dlkit.models.losses.PairLoss`). The
classifier's weights ``w`` are the model's last layer, so the model still outputs one vector
per image (``w ⊙ f(x)``) and the distance of two images is the L1 distance of their vectors:
the classifier's logit is ``β − distance``. Verification then uses the classifier: "same" when
its probability is at least the one at τ, that is when the distance is at most τ (τ chosen on
dev as for the triplet loss); ``confidence`` is the classifier's probability for the nearest
image, and ``loss`` the binary cross-entropy of the image's hardest positive and hardest
negative, averaged.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.analysis import embedding as emb
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.data.identity_batches import IdentityBatches
    from dlkit.data.split import SplitResult
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
    from dlkit.tasks.spec import VerificationSpec
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

PAIR_SEED = 0  # the pairs of a set are the same in every run and every report


def embedding_columns(frame: pd.DataFrame) -> list[str]:
    """The ``emb_<k>`` columns of a predictions frame, in order."""
    names = [c for c in frame.columns if str(c).startswith("emb_")]
    return sorted(names, key=lambda c: int(str(c)[4:]))


class Verification(Task):
    name = "verification"
    summary = "one-shot verification: L2-normalised embedding, triplet loss, identities unseen in train"
    labels = "categorical"
    epoch_metrics = ()
    verifies = True
    default_metric = "verification_accuracy"
    set_metrics = ("loss", "accuracy", "error", "verification_accuracy", "roc_auc")
    maximised = ("accuracy", "verification_accuracy", "roc_auc")
    error_metric = "accuracy"
    reports = ("diagnose", "analyze_errors", "tune", "learning_curve", "lr_find")
    split_by_label = True
    truth_columns = ("y_true", "y_pred", "correct", "positive_distance", "negative_distance", "loss")
    # set-level metrics read through the per-image one-shot mistakes (as a classifier's ROC AUC)
    RATE_METRICS = ("verification_accuracy", "roc_auc")

    def __init__(self, spec: VerificationSpec | None = None, threshold: float | None = None) -> None:
        self._spec = spec
        self.threshold = threshold

    @property
    def spec(self) -> VerificationSpec:
        """The recipe's ``verification`` section (its defaults until :meth:`configured`); made when
        first asked, so that reading a finished run's reports does not import pydantic."""
        if self._spec is None:
            from dlkit.tasks.spec import VerificationSpec

            self._spec = VerificationSpec()
        return self._spec

    @property
    def metric(self) -> emb.Metric:
        """How two images' distance is measured: Euclidean (triplet) or L1 (pair classifier)."""
        return "l1" if self.spec.objective == "pairs" else "euclidean"

    def distances(self, embeddings: np.ndarray, probe: np.ndarray) -> np.ndarray:
        """The distance `(n,)` of each of ``embeddings`` `(n, d)` to ``probe`` `(d,)`."""
        diff = np.asarray(embeddings, dtype=np.float64) - np.asarray(probe, dtype=np.float64)
        if self.metric == "l1":
            return np.abs(diff).sum(axis=-1)
        return np.sqrt((diff**2).sum(axis=-1))

    def configured(self, recipe: Recipe) -> Verification:
        task = copy.copy(self)
        task._spec = getattr(recipe, "verification", None)
        return task

    def check(self, recipe: Recipe, data: Dataset) -> None:
        super().check(recipe, data)
        from dlkit.errors import DataError, RecipeError

        if recipe.train.loss is not None:
            raise RecipeError(
                f"train.loss: task verification trains with the triplet loss or a pair classifier "
                f"(set verification.objective, margin and mining instead of {recipe.train.loss})"
            )
        if self.spec.identities_per_batch is not None and data.stream:
            raise RecipeError(
                "verification.identities_per_batch: identity batches are drawn from data in memory; "
                "the source is streamed (set data.source.stream: false)"
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

    def batch_sampler(self, y_train: np.ndarray, seed: int) -> IdentityBatches | None:
        if self.spec.identities_per_batch is None:
            return None
        from dlkit.data.identity_batches import IdentityBatches

        return IdentityBatches(y_train, self.spec.identities_per_batch, self.spec.images_per_identity, seed)

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(self.spec.embedding, "linear", normalize=True, weighted=self.spec.objective == "pairs")

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.losses import PairLoss, TripletLoss

        if self.spec.objective == "pairs":
            return PairLoss(emb.PAIR_BIAS)
        return TripletLoss(self.spec.margin, self.spec.mining)

    def embed(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> np.ndarray:
        """The embeddings `(n, d)` of the examples at ``indices``, in inference mode."""
        x, _ = self.fit_arrays(data, indices)
        return np.asarray(self.outputs(model, x, recipe))

    def calibrate(
        self, model: keras.Model, recipe: Recipe, data: Dataset, parts: SplitResult
    ) -> Verification:
        """τ with the best pair accuracy on dev (on train when the split has no dev)."""
        task = self.configured(recipe)
        name = "dev" if len(parts.indices("dev")) else "train"
        indices = parts.indices(name)
        e = task.embed(model, data, indices, recipe)
        pairs = emb.verification_pairs(data.y[indices], PAIR_SEED, task.spec.negatives_per_positive)
        task.threshold = emb.choose_threshold(emb.pair_distances(e, pairs, task.metric), pairs.same)
        return task

    def restored(self, recipe: Recipe, metrics: dict[str, dict[str, float]]) -> Verification:
        """With the run's τ (chosen on dev, else on train, when it trained)."""
        task = self.configured(recipe)
        sets = [s for s in ("dev", "train") if "threshold" in metrics.get(s, {})]
        stored = metrics[sets[0]]["threshold"] if sets else None
        if stored is None or math.isnan(float(stored)):
            from dlkit.errors import UnsupportedRunError

            raise UnsupportedRunError(f"run '{recipe.name}': no threshold τ in its metrics (dev or train)")
        task.threshold = float(stored)
        return task

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        task = self.configured(recipe)
        return task.score(task.embed(model, data, indices, recipe), data.y[indices], data)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        e = np.asarray(outputs, dtype=np.float64)
        labels = np.asarray(data.classes, dtype=object)
        y_idx = np.asarray(y).astype(int)
        near = emb.nearest(e, y_idx, self.metric)
        has_other = near.index >= 0
        pred_idx = np.where(has_other, y_idx[np.maximum(near.index, 0)], -1)
        if self.spec.objective == "pairs":
            # cross-entropy of the hardest positive (called same) and hardest negative (different)
            p_pos = emb.same_probability(near.positive_distance)
            p_neg = emb.same_probability(near.negative_distance)
            loss = -(np.log(np.clip(p_pos, 1e-12, 1)) + np.log(np.clip(1 - p_neg, 1e-12, 1))) / 2
            confidence = emb.same_probability(near.distance)
        else:
            loss = np.maximum(near.positive_distance**2 - near.negative_distance**2 + self.spec.margin, 0.0)
            # unit embeddings are at most 2 apart: 1 at distance 0, 0 at the far side
            confidence = np.clip(1.0 - near.distance / 2.0, 0.0, 1.0)
        frame = pd.DataFrame(
            {
                "y_true": pd.array(labels[y_idx].tolist()) if len(y_idx) else pd.array([], dtype=object),
                "y_pred": pd.array([labels[p] if p >= 0 else None for p in pred_idx], dtype=object),
                "correct": pred_idx == y_idx,
                "confidence": confidence,
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
        distances = emb.pair_distances(e, pairs, self.metric)
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
