"""dlkit's own Keras losses, registered so a saved model loads with them (``load_model``).

``ClassBoxLoss`` (localization) and the triplet loss with in-batch mining (verification). The
triplet loss is the same computation as :func:`dlkit.analysis.embedding.triplet_loss` (the NumPy
reference the tests compare with), vectorised: for a batch of ``n`` embeddings the semi-hard
mining looks at an `(n, n, n)` anchor x positive x negative cube, small at the batch sizes dlkit
trains with. Imports Keras: load it lazily.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlkit")
class ClassBoxLoss(keras.losses.Loss):
    """One object's class and box: cross-entropy of the class plus ``box_weight`` x the mean
    absolute error of the box.

    The model gives `(batch, n_classes + 4)`: class logits, then box logits whose sigmoid is
    ``x_min, y_min, x_max, y_max`` as shares of the width and height. The targets are
    `(batch, 5)`: class index, then the normalised box (:mod:`dlkit.data.vision_labels`).
    """

    def __init__(
        self, n_classes: int, box_weight: float = 5.0, name: str = "class_box", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.box_weight = float(box_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        # in the output's own precision: gradcheck runs a float64 copy of the model
        y_true = ops.cast(y_true, y_pred.dtype)
        labels = ops.cast(y_true[:, 0], "int32")
        ce = keras.losses.sparse_categorical_crossentropy(
            labels, y_pred[:, : self.n_classes], from_logits=True
        )
        box = ops.sigmoid(y_pred[:, self.n_classes :])
        l1 = ops.mean(ops.abs(box - y_true[:, 1:]), axis=-1)
        return ce + self.box_weight * l1

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_classes": self.n_classes, "box_weight": self.box_weight}


def _squared_distances(e: Any) -> Any:
    norms = ops.sum(ops.square(e), axis=1)
    return ops.maximum(norms[:, None] + norms[None, :] - 2.0 * ops.matmul(e, ops.transpose(e)), 0.0)


@keras.saving.register_keras_serializable(package="dlkit")
class TripletLoss(keras.losses.Loss):
    """``max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)`` averaged over the batch's triplets.

    Args:
        margin: α.
        mining: ``semi_hard`` (per anchor-positive pair, the closest negative farther than the
            positive, else the farthest negative) or ``hard`` (per anchor, its farthest
            positive against its closest negative).

    ``y_true`` holds each example's identity `(batch,)`; ``y_pred`` its embedding `(batch, d)`.
    A batch without a positive pair has loss 0.
    """

    def __init__(self, margin: float = 0.2, mining: str = "semi_hard", name: str = "triplet", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)
        self.mining = mining

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        e = ops.cast(y_pred, "float32")
        d = _squared_distances(e)
        n = ops.shape(labels)[0]
        same = ops.equal(labels[:, None], labels[None, :])
        positive = ops.logical_and(same, ops.logical_not(ops.cast(ops.eye(n), "bool")))
        negative = ops.logical_not(same)
        big = ops.max(d) + 1.0
        closest_neg = ops.min(ops.where(negative, d, big), axis=1)
        farthest_neg = ops.max(ops.where(negative, d, -1.0), axis=1)
        has_neg = ops.any(negative, axis=1)
        if self.mining == "hard":
            farthest_pos = ops.max(ops.where(positive, d, -1.0), axis=1)
            use = ops.logical_and(ops.any(positive, axis=1), has_neg)
            losses = ops.relu(farthest_pos - closest_neg + self.margin)
        else:
            # (anchor, positive, negative): negatives farther than that positive
            d_ap = d[:, :, None]
            d_an = d[:, None, :]
            semi = ops.logical_and(negative[:, None, :], ops.greater(d_an, d_ap))
            semi_min = ops.min(ops.where(semi, d_an, big), axis=2)
            chosen = ops.where(ops.any(semi, axis=2), semi_min, farthest_neg[:, None])
            use = ops.logical_and(positive, has_neg[:, None])
            losses = ops.relu(d - chosen + self.margin)
        weight = ops.cast(use, "float32")
        return ops.sum(losses * weight) / ops.maximum(ops.sum(weight), 1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "margin": self.margin, "mining": self.mining}


@keras.saving.register_keras_serializable(package="dlkit")
class PairLoss(keras.losses.Loss):
    """Verification trained as a binary classifier on pairs: for every pair ``i < j`` of the
    batch, ``ŷ = σ(β − Σ_k |g_ik − g_jk|)`` against "same identity", binary cross-entropy, the
    mean over same pairs and the mean over different pairs weighted half each.

    ``g = w ⊙ f(x)``: the L2-normalised embedding times the classifier's learned weights
    (:class:`dlkit.models.layers.UnitWeights`), so ``Σ_k |w_k|·|f(x1)_k − f(x2)_k|`` is the
    course's ``Σ_k w_k·|f(x1)_k − f(x2)_k|`` with weights that never count a difference as
    evidence for "same". The NumPy reference is :func:`dlkit.analysis.embedding.pair_loss`.

    Args:
        bias: β, the classifier's fixed bias.
    """

    def __init__(self, bias: float = 4.0, name: str = "pairs", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.bias = float(bias)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        g = ops.cast(y_pred, "float32")
        distance = ops.sum(ops.abs(g[:, None, :] - g[None, :, :]), axis=2)
        logits = self.bias - distance
        n = ops.shape(labels)[0]
        upper = ops.greater(ops.triu(ops.ones((n, n)), k=1), 0.0)
        same = ops.equal(labels[:, None], labels[None, :])
        positive = ops.cast(ops.logical_and(upper, same), "float32")
        negative = ops.cast(ops.logical_and(upper, ops.logical_not(same)), "float32")
        # -log σ(z) = softplus(-z), -log(1 - σ(z)) = softplus(z)
        pos_loss = ops.sum(ops.softplus(-logits) * positive) / ops.maximum(ops.sum(positive), 1.0)
        neg_loss = ops.sum(ops.softplus(logits) * negative) / ops.maximum(ops.sum(negative), 1.0)
        has_pos = ops.cast(ops.sum(positive) > 0, "float32")
        has_neg = ops.cast(ops.sum(negative) > 0, "float32")
        return (pos_loss * has_pos + neg_loss * has_neg) / ops.maximum(has_pos + has_neg, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bias": self.bias}
