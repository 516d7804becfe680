"""The pyfunc loader of a logged model that needs dlkit: its own layers, or raw text in.

MLflow's Keras flavour loads a model with Keras alone and hands NumPy arrays straight to
``model.predict``. Two kinds of dlkit model need more: one with dlkit's registered layers
(transformers, seq2seq) cannot be deserialised before :mod:`dlkit.models.layers` is imported,
and a text classifier (its vectoriser inside, so it takes raw strings) fails on NumPy's
fixed-width string arrays, which Keras does not accept (object arrays it does). Such a model's
``MLmodel`` names this module as its pyfunc ``loader_module``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class DlkitKerasModel:
    """MLflow's Keras pyfunc wrapper, fed object arrays where it would get string arrays."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get_raw_model(self) -> Any:
        return self._inner.get_raw_model()

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            data = data.to_numpy()
            if data.ndim == 2 and data.shape[1] == 1 and data.dtype == object:
                data = data[:, 0]  # one text column: one string per example
        if isinstance(data, dict) and len(data) == 1:
            data = next(iter(data.values()))  # MLflow's named text column: the model's one input
        data = {k: _objects(v) for k, v in data.items()} if isinstance(data, dict) else _objects(data)
        return self._inner.predict(data)


def _objects(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind in "US":
        return value.astype(object)
    return value


class DlkitTableModel:
    """A model of typed table columns: raw rows (strings, blanks, dates as written) converted
    to its inputs as training read them (:func:`dlkit.data.columns.model_inputs`)."""

    def __init__(self, inner: Any, columns: list[dict[str, Any]]) -> None:
        self._inner = inner
        self._columns = columns

    def get_raw_model(self) -> Any:
        return self._inner.get_raw_model()

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        from dlkit.data.columns import model_inputs

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        return self._inner.get_raw_model().predict(model_inputs(frame, self._columns), verbose=0)


def _load_pyfunc(path: str) -> DlkitKerasModel | DlkitTableModel:
    """Called by ``mlflow.pyfunc.load_model``: dlkit's layers registered, then MLflow's loader."""
    import json
    from pathlib import Path

    from mlflow.keras.load import _load_pyfunc as load_keras

    from dlkit.models import (
        layers,  # noqa: F401  (registers dlkit's layers for deserialisation)
        losses,  # noqa: F401  (and its losses: a model is saved compiled)
    )
    from dlkit.tracking.mlflow_model import COLUMNS_FILE

    columns = Path(path) / COLUMNS_FILE
    if columns.is_file():
        return DlkitTableModel(load_keras(path), json.loads(columns.read_text(encoding="utf-8")))
    return DlkitKerasModel(load_keras(path))
