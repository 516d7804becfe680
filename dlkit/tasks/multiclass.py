"""Multiclass classification: a softmax over the classes, sparse categorical cross-entropy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit.tasks._classes import ClassTask

if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset
    from dlkit.models import Head


class Multiclass(ClassTask):
    name = "multiclass"
    summary = "one of several classes: softmax output, sparse categorical cross-entropy"
    labels = "categorical"
    takes_sample_weight = True

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(data.n_classes, "softmax")

    def loss(self, data: Dataset) -> Any:
        return "sparse_categorical_crossentropy"
