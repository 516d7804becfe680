"""dlkit's own Keras losses, registered so a saved model loads with them (``load_model``)."""

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
