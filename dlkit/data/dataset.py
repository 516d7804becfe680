"""The in-memory dataset every source produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Task = Literal["binary", "multiclass", "regression"]
Kind = Literal["tabular", "image"]


@dataclass
class Dataset:
    """Features, encoded targets and bookkeeping for one data source.

    Attributes:
        x: features, `(n, features)` for tables or `(n, height, width, channels)` for images.
        y: class indices `(n,)` for classification, float targets `(n,)` for regression.
        ids: one stable identifier per example `(n,)` (an id column, or the row number).
        task: binary, multiclass or regression.
        kind: tabular or image (decides how inputs are normalised).
        classes: original label values in index order (empty for regression).
        feature_names: one name per feature for tables, empty for images.
        metadata: columns carried to predictions and reports but not used as features.
        content_hash: sha256 of the source data, to detect a changed file.
        description: where the data came from, for messages.
    """

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    task: Task
    kind: Kind
    classes: list[object]
    content_hash: str
    description: str
    feature_names: list[str] = field(default_factory=list)
    metadata: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_examples(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Original label values for encoded targets (identity for regression)."""
        if self.task == "regression":
            return y
        return np.asarray(self.classes, dtype=object)[y.astype(int)]
