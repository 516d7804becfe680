"""The model's front of typed table columns: one named input per column, preprocessed inside.

Every statistic (medians, means and variances, category vocabularies, text vocabularies) comes
from the training rows only (METHODOLOGY §1) and is stored in the layers, so the saved model
takes raw rows: NaN for a blank number, ``""`` for a blank string, unseen categories in the
out-of-vocabulary bucket. Columns come from :func:`dlkit.data.columns.type_columns`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.data.columns import UNUSED, ColumnInfo, layer_name

if TYPE_CHECKING:
    import keras

    from dlkit.data.columns import TableColumns

# words kept per free-text column (bag of words)
TEXT_TOKENS = 1000
# most frequent values kept per category; rarer ones share the out-of-vocabulary bucket
MAX_CATEGORIES = 10_000
# piecewise-linear bins per number and date part when the column does not say (``bins``)
N_BINS = 16


def embedding_dim(n_values: int) -> int:
    """fast.ai's rule of thumb for a category's embedding width: 1.6 n^0.56, at most 50."""
    return max(2, min(50, round(1.6 * n_values**0.56)))


def vocabulary(values: np.ndarray) -> list[str]:
    """Train's values of a category, most frequent first (ties by value); ``""`` (missing) kept
    as a value of its own when train has it: the category's missing indicator."""
    names, counts = np.unique(values.astype(str), return_counts=True)
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    return [str(names[i]) for i in order[:MAX_CATEGORIES]]


def bin_edges(fitted: np.ndarray, bins: list[int]) -> list[list[float]]:
    """Each column's bin edges: train's quantiles at ``bins[j] + 1`` even steps, repeats merged
    (a column of few values gets fewer bins; one of at most two values, none).

    Args:
        fitted: train's values `(n, k)`, no NaN.
        bins: the bins wanted per column (0: none).
    """
    edges: list[list[float]] = []
    for j, n_bins in enumerate(bins):
        if n_bins < 2 or not len(fitted):
            edges.append([])
            continue
        cuts = np.unique(np.quantile(fitted[:, j], np.linspace(0.0, 1.0, n_bins + 1), method="inverted_cdf"))
        edges.append([float(c) for c in cuts] if len(cuts) >= 3 else [])
    return edges


def _binned(x: keras.KerasTensor, fitted: np.ndarray, bins: list[int], name: str) -> keras.KerasTensor | None:
    """The piecewise-linear encoding of ``x`` with edges from train's values, or None (no bins)."""
    from dlkit.models.layers import PiecewiseLinear

    edges = bin_edges(fitted, bins)
    if not any(edges):
        return None
    return PiecewiseLinear(edges, name=name)(x)


def _scaled(x: keras.KerasTensor, fitted: np.ndarray, normalize: bool, name: str) -> keras.KerasTensor:
    """``x`` standardised with the mean and variance of ``fitted`` `(n, k)` (train's values)."""
    import keras

    if not normalize:
        return x
    mean = fitted.mean(axis=0) if len(fitted) else np.zeros(fitted.shape[1])
    var = fitted.var(axis=0) if len(fitted) else np.ones(fitted.shape[1])
    return keras.layers.Normalization(mean=mean, variance=var, name=name)(x)


def encode_columns(
    columns: list[dict[str, Any]], x: TableColumns, train: np.ndarray, *, normalize: bool = True
) -> tuple[dict[str, keras.KerasTensor], keras.KerasTensor]:
    """The named inputs and the encoded feature vector `(batch, features)` of typed columns.

    Numbers: imputed with train's median, standardised, plus a 0/1 missing indicator for a
    column with any missing value. Dates: days, year, month and day of week, standardised.
    Numbers and date parts also get a piecewise-linear encoding on train's quantiles
    (:class:`~dlkit.models.layers.PiecewiseLinear`, ``N_BINS`` bins unless the column's
    ``bins`` says), appended after the other features.
    Categories and booleans: one-hot, or an embedding (``encoding``), missing as a value of its
    own, unseen values in one out-of-vocabulary bucket. Free text: a bag of words.

    Args:
        columns: the column descriptions (``Dataset.options["columns"]``).
        x: the model inputs of every example.
        train: indices of the training examples (every statistic comes from them).
        normalize: standardise numbers and dates (``data.normalize``).
    """
    import keras

    from dlkit.models.layers import DateParts, Impute, MissingIndicator

    infos = [ColumnInfo(**c) for c in columns if c["type"] not in UNUSED]
    inputs: dict[str, keras.KerasTensor] = {}
    parts: list[keras.KerasTensor] = []
    binned: list[keras.KerasTensor | None] = []
    numeric = [c for c in infos if c.type == "numeric"]
    for c in infos:
        dtype = "float32" if c.type in ("numeric", "date") else "string"
        inputs[c.input] = keras.Input(shape=(1,), name=c.input, dtype=dtype)
    if numeric:
        raw = np.hstack([x.arrays[c.input][train] for c in numeric]).astype(np.float64)
        with np.errstate(all="ignore"):
            medians = [float(m) if math.isfinite(m) else 0.0 for m in _nanmedian(raw)]
        stacked = [inputs[c.input] for c in numeric]
        joined = keras.layers.Concatenate(name="numbers")(stacked) if len(stacked) > 1 else stacked[0]
        filled = Impute(medians, name="numbers_impute")(joined)
        fitted = np.where(np.isnan(raw), medians, raw)
        parts.append(_scaled(filled, fitted, normalize, "numbers_normalize"))
        binned.append(_binned(filled, fitted, [_bins(c) for c in numeric], "numbers_bins"))
        flagged = [j for j, c in enumerate(numeric) if c.n_missing]
        if flagged:
            parts.append(MissingIndicator(flagged, name="numbers_missing")(joined))
    for c in infos:
        name, values = layer_name(c.input), x.arrays[c.input][train]
        if c.type == "date":
            present = values[~np.isnan(values)]
            median = float(np.median(present)) if len(present) else 0.0
            filled = Impute([median], name=f"{name}_impute")(inputs[c.input])
            date_parts = DateParts(name=f"{name}_parts")
            fitted = keras.ops.convert_to_numpy(date_parts(np.where(np.isnan(values), median, values)))
            expanded = date_parts(filled)
            parts.append(_scaled(expanded, fitted.astype(np.float64), normalize, f"{name}_normalize"))
            binned.append(_binned(expanded, fitted.astype(np.float64), [_bins(c)] * 4, f"{name}_bins"))
            if c.n_missing:
                parts.append(MissingIndicator([0], name=f"{name}_missing")(inputs[c.input]))
        elif c.type in ("category", "boolean"):
            vocab = vocabulary(values[:, 0])
            if c.encoding == "embedding":
                ids = keras.layers.StringLookup(vocabulary=vocab, name=f"{name}_lookup")(inputs[c.input])
                dim = c.embedding_dim or embedding_dim(len(vocab) + 1)
                embedded = keras.layers.Embedding(len(vocab) + 1, dim, name=f"{name}_embedding")(ids)
                parts.append(keras.layers.Reshape((dim,), name=f"{name}_flat")(embedded))
            else:
                lookup = keras.layers.StringLookup(
                    vocabulary=vocab, output_mode="one_hot", name=f"{name}_lookup"
                )
                parts.append(lookup(inputs[c.input]))
        elif c.type == "text":
            words = keras.layers.TextVectorization(
                max_tokens=TEXT_TOKENS, output_mode="multi_hot", name=f"{name}_words"
            )
            words.adapt(values[:, 0].astype(str))
            # (batch, 1) strings give (batch, 1, tokens): one bag per row
            parts.append(keras.layers.Flatten(name=f"{name}_bag")(words(inputs[c.input])))
    parts += [b for b in binned if b is not None]
    features = keras.layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    return inputs, features


def _bins(column: ColumnInfo) -> int:
    return N_BINS if column.bins is None else column.bins


def _nanmedian(values: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN (NaN for a column with no value: imputed as 0)."""
    out = np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        present = values[:, j][~np.isnan(values[:, j])]
        if len(present):
            out[j] = np.median(present)
    return out
