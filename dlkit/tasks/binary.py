"""Binary classification: one sigmoid, binary cross-entropy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks._classes import ClassTask

if TYPE_CHECKING:
    import numpy as np

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
else:
    np = lazy_module("numpy")


class Binary(ClassTask):
    name = "binary"
    summary = "two classes: one sigmoid output, binary cross-entropy"
    labels = "categorical"
    exact_classes = 2
    takes_sample_weight = True

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(1, "sigmoid")

    def loss(self, data: Dataset) -> Any:
        return "binary_crossentropy"

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        p1 = np.asarray(outputs, dtype=np.float64).reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
