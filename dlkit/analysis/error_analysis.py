"""Error analysis (docs/method.md §4): category ceilings, incorrectly labelled data, slices.

Pure pandas/numpy/scikit-learn: functions take frames of predictions or of a tagged
sheet and return result dataclasses; rendering lives in :mod:`dlkit.reporting.errors`.

Rates are fractions throughout (``0.005`` is half an error point); reports multiply by 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis import bias_variance
from dlkit.analysis.categories import INCORRECTLY_LABELLED
from dlkit.analysis.columns import Columns

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

CONFIDENCE = 0.95
# "Worth fixing" for labels: their ceiling is at least this fraction of the largest other
# category's ceiling, i.e. they are among the categories worth working on next.
LABELS_WORTH_FRACTION = 0.5
LABEL_REMINDER = (
    "Apply the same label corrections to dev and test, so they stay one distribution; "
    "examples the model got right may carry bad labels too."
)


def wilson_interval(count: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion (the closed form shared with ``diagnose``).

    Args:
        count: successes (e.g. errors tagged with a category).
        n: trials (e.g. errors reviewed); 0 gives ``(nan, nan)``.
        confidence: the interval's confidence level.

    Returns:
        ``(low, high)`` as fractions.
    """
    if n <= 0:
        return float("nan"), float("nan")
    return bias_variance.wilson_interval(int(count), int(n), confidence)


def ceiling(share: float, dev_error: float) -> float:
    """The most dev error could drop if a category were fixed completely: share × dev error.

    At 10% dev error, a category holding 5% of the errors has a ceiling of 0.005 (0.5 points).
    """
    return share * dev_error


@dataclass(frozen=True)
class CategoryRow:
    """One category of errors and what fixing it could gain.

    Attributes:
        name: the category.
        source: ``tagged`` (by a person on the sheet) or ``rule`` (computed from metadata).
        count: reviewed errors in the category.
        share: count / reviewed errors (categories overlap: shares may add up to more than 1).
        share_low: lower end of the share's 95% Wilson interval.
        share_high: upper end of the share's 95% Wilson interval.
        ceiling: share × dev error, the most the dev error could drop (a fraction).
        error_if_fixed: dev error − ceiling, the dev error at best once the category is fixed.
    """

    name: str
    source: str
    count: int
    share: float
    share_low: float
    share_high: float
    ceiling: float
    error_if_fixed: float

    @property
    def ceiling_points(self) -> float:
        """The ceiling in error points (percentage points)."""
        return 100 * self.ceiling


@dataclass(frozen=True)
class LabelReading:
    """What incorrectly labelled dev examples mean for the dev error.

    Attributes:
        count: reviewed errors tagged incorrectly_labelled.
        share: their share of the reviewed errors.
        ceiling: share × dev error: the part of the dev error that is label mistakes.
        corrected_dev_error: dev error − ceiling: the model's error once those labels are fixed.
        largest_other: the largest ceiling of any other category (0 when there is none).
        largest_other_name: that category (None when there is none).
        worth_fixing: whether fixing labels should come before (or with) the other work.
        reason: why, in one sentence.
        reminder: the same corrections go to test.
    """

    count: int
    share: float
    ceiling: float
    corrected_dev_error: float
    largest_other: float
    largest_other_name: str | None
    worth_fixing: bool
    reason: str
    reminder: str = LABEL_REMINDER


@dataclass
class CategoryReport:
    """The tagged sheet read as ceilings (docs/method.md §4).

    Attributes:
        dev_error: the dev error the ceilings are taken from.
        n_reviewed: errors on the sheet (the sample looked at).
        n_errors: all misclassified dev examples the sample came from.
        categories: one row per category, highest ceiling first.
        n_untagged: reviewed errors with no category at all.
        comments: ``(id, comment)`` for every non-empty comment.
        labels: the incorrectly-labelled reading.
    """

    dev_error: float
    n_reviewed: int
    n_errors: int
    categories: list[CategoryRow]
    n_untagged: int
    comments: list[tuple[str, str]] = field(default_factory=list)
    labels: LabelReading | None = None


def category_rows(
    tags: pd.DataFrame, dev_error: float, sources: dict[str, str] | None = None
) -> list[CategoryRow]:
    """Count, share (95% Wilson interval), ceiling and best-case error for each category.

    Args:
        tags: one boolean column per category, one row per reviewed error.
        dev_error: the dev error (a fraction) the reviewed errors were sampled from.
        sources: category -> ``tagged`` or ``rule`` (``tagged`` when absent).

    Returns:
        One row per category, highest ceiling first (ties: by name).
    """
    n = len(tags)
    rows = []
    for name in tags.columns:
        count = int(tags[name].astype(bool).sum())
        share = count / n if n else float("nan")
        low, high = wilson_interval(count, n)
        top = ceiling(share, dev_error)
        rows.append(
            CategoryRow(
                name=str(name),
                source=(sources or {}).get(str(name), "tagged"),
                count=count,
                share=share,
                share_low=low,
                share_high=high,
                ceiling=top,
                error_if_fixed=dev_error - top,
            )
        )
    rows.sort(key=lambda r: (-np.nan_to_num(r.ceiling, nan=-1.0), r.name))
    return rows


def label_reading(
    rows: Sequence[CategoryRow], dev_error: float, model_gap: float | None = None
) -> LabelReading:
    """Read the incorrectly_labelled category against the others.

    Labels are worth fixing when their ceiling is at least half the largest other category's
    ceiling, or when it is at least ``model_gap``, the difference between models you need to
    tell apart (a label error rate of that size can flip which model looks better).

    Args:
        rows: category rows including ``incorrectly_labelled``.
        dev_error: the dev error.
        model_gap: optional difference in error (a fraction) that matters for choosing models.

    Returns:
        The reading; a zero count reads as "not worth it".
    """
    label = next((r for r in rows if r.name == INCORRECTLY_LABELLED), None)
    others = [r for r in rows if r.name != INCORRECTLY_LABELLED and not np.isnan(r.ceiling)]
    best = max(others, key=lambda r: r.ceiling, default=None)
    largest = best.ceiling if best is not None else 0.0
    count = label.count if label else 0
    share = label.share if label else 0.0
    top = label.ceiling if label else 0.0
    points = f"{100 * top:.2f} points"
    if count == 0:
        worth, reason = False, "no reviewed error was tagged incorrectly_labelled"
    elif model_gap is not None and top >= model_gap:
        worth = True
        reason = (
            f"label errors account for {points} of dev error, at least the {100 * model_gap:.2f}-point "
            "gap between the models you need to tell apart"
        )
    elif best is None or top >= LABELS_WORTH_FRACTION * largest:
        worth = True
        other = f"'{best.name}' ({100 * largest:.2f} points)" if best else "no other category"
        reason = f"label errors ({points}) are among the largest categories; the largest other is {other}"
    else:
        worth = False
        reason = (
            f"label errors ({points}) are small next to '{best.name}' ({100 * largest:.2f} points): "
            "work on the larger categories first"
        )
    return LabelReading(
        count=count,
        share=share,
        ceiling=top,
        corrected_dev_error=dev_error - top,
        largest_other=largest,
        largest_other_name=best.name if best else None,
        worth_fixing=worth,
        reason=reason,
    )


def category_report(
    sheet: pd.DataFrame,
    categories: Sequence[str],
    dev_error: float,
    n_errors: int,
    *,
    rule_tags: pd.DataFrame | None = None,
    model_gap: float | None = None,
) -> CategoryReport:
    """Ceilings for every category of a tagged sheet, plus the incorrectly-labelled reading.

    Args:
        sheet: the reviewed errors: ``id``, one boolean column per name in ``categories``,
            optionally ``comments``.
        categories: the hand-tagged category columns of ``sheet``.
        dev_error: the dev error (a fraction).
        n_errors: all misclassified dev examples the sheet was sampled from.
        rule_tags: optional boolean columns computed by rules, aligned with ``sheet``.
        model_gap: see :func:`label_reading`.

    Returns:
        The report, categories ranked by ceiling.
    """
    tags = sheet[list(categories)].astype(bool)
    sources = dict.fromkeys(categories, "tagged")
    if rule_tags is not None and not rule_tags.empty:
        rule_tags = rule_tags.set_axis(sheet.index).astype(bool)
        tags = pd.concat([tags, rule_tags], axis=1)
        sources.update(dict.fromkeys(rule_tags.columns, "rule"))
    rows = category_rows(tags, dev_error, sources)
    comments: list[tuple[str, str]] = []
    if "comments" in sheet.columns:
        for ident, text in zip(sheet["id"], sheet["comments"], strict=True):
            if isinstance(text, str) and text.strip():
                comments.append((str(ident), text.strip()))
    return CategoryReport(
        dev_error=dev_error,
        n_reviewed=len(sheet),
        n_errors=n_errors,
        categories=rows,
        n_untagged=int((~tags.any(axis=1)).sum()) if len(tags.columns) else len(sheet),
        comments=comments,
        labels=label_reading(rows, dev_error, model_gap),
    )


# ---------------------------------------------------------------- sampling the sheet


def sample_errors(predictions: pd.DataFrame, n: int, seed: int, stratify: bool = False) -> pd.DataFrame:
    """A seeded sample of the misclassified examples, sorted by id.

    Stratified sampling allocates the sample to (true, predicted) pairs in proportion to their
    size (largest remainders), so category shares remain estimates of shares of all errors.

    Args:
        predictions: per-example predictions with ``correct``, ``y_true``, ``y_pred``.
        n: how many errors to take (all of them when there are fewer).
        seed: the random seed.
        stratify: allocate by (true, predicted) pair.

    Returns:
        The sampled rows of ``predictions``.
    """
    errors = predictions.loc[~predictions["correct"].astype(bool)]
    if len(errors) <= n:
        picked = errors
    elif not stratify:
        picked = errors.sample(n=n, random_state=seed)
    else:
        keys = errors["y_true"].astype(str) + "\x00" + errors["y_pred"].astype(str)
        sizes = keys.value_counts().sort_index()
        exact = sizes / sizes.sum() * n
        alloc = np.floor(exact).astype(int)
        remainder = (exact - alloc).sort_values(ascending=False, kind="stable")
        for key in remainder.index[: n - int(alloc.sum())]:
            alloc[key] += 1
        rng = np.random.default_rng(seed)
        chosen: list[Any] = []
        for key, k in alloc.items():
            if k:
                index = errors.index[keys.to_numpy() == key]
                chosen.extend(rng.choice(index, size=int(k), replace=False).tolist())
        picked = errors.loc[chosen]
    return picked.sort_values("id", kind="stable")


# ---------------------------------------------------------------- whole-set readings


@dataclass(frozen=True)
class ClassRow:
    """Precision, recall, F1 and support of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ConfusedPair:
    """How often one true class was predicted as another."""

    true: str
    predicted: str
    count: int
    share_of_errors: float


@dataclass(frozen=True)
class SliceRow:
    """Error rate of the examples with one value of one metadata column.

    Attributes:
        column: the metadata column.
        value: the value (or the bin, for numeric columns with many values) as text.
        n: examples with that value.
        n_errors: misclassified ones among them.
        error_rate: n_errors / n.
        low: lower end of the 95% Wilson interval of the error rate.
        high: upper end.
        ratio: error rate / the whole set's error rate.
    """

    column: str
    value: str
    n: int
    n_errors: int
    error_rate: float
    low: float
    high: float
    ratio: float


@dataclass
class SetReport:
    """Readings of a whole set's predictions.

    Attributes:
        n: examples.
        n_errors: misclassified examples.
        error: n_errors / n.
        classes: labels in index order (as text).
        per_class: precision / recall / F1 per class.
        confusion: `(classes, classes)` counts, rows true, columns predicted.
        confused_pairs: the most frequent (true, predicted) errors first.
        highest_loss: the examples with the highest loss (id, y_true, y_pred, confidence, loss),
            a table of the kind the predictions came as (:func:`records` reads either).
        slices: error rate per metadata value, weakest first.
    """

    n: int
    n_errors: int
    error: float
    classes: list[str]
    per_class: list[ClassRow]
    confusion: np.ndarray
    confused_pairs: list[ConfusedPair]
    highest_loss: pd.DataFrame | Columns
    slices: list[SliceRow]


def per_class_metrics(
    y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray, classes: Sequence[Any]
) -> list[ClassRow]:
    """Precision, recall and F1 per class (0 where undefined, as scikit-learn's ``zero_division=0``).

    Counted over every example: one whose prediction is not among ``classes`` still counts
    against its true class's recall.
    """
    labels = [str(c) for c in classes]
    true, pred = label_indices(y_true, labels), label_indices(y_pred, labels)
    n = len(labels)
    hits = np.bincount(true[(true == pred) & (true >= 0)], minlength=n)
    support = np.bincount(true[true >= 0], minlength=n)
    predicted = np.bincount(pred[pred >= 0], minlength=n)
    rows = []
    for label, tp, n_true, n_pred in zip(labels, hits, support, predicted, strict=True):
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * tp / (n_true + n_pred) if n_true + n_pred else 0.0  # 2tp / (2tp + fp + fn)
        rows.append(ClassRow(label, float(precision), float(recall), float(f1), int(n_true)))
    return rows


def confusion(
    y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray, classes: Sequence[Any]
) -> np.ndarray:
    """The confusion matrix `(classes, classes)`: rows true class, columns predicted class.

    Examples whose true or predicted label is not among ``classes`` are left out.
    """
    labels = [str(c) for c in classes]
    true, pred = label_indices(y_true, labels), label_indices(y_pred, labels)
    kept = (true >= 0) & (pred >= 0)
    n = len(labels)
    return np.bincount(true[kept] * n + pred[kept], minlength=n * n).reshape(n, n).astype(np.int64)


def label_indices(values: Sequence[Any] | np.ndarray, labels: list[str]) -> np.ndarray:
    """Each value's index in ``labels`` `(n,)`, compared as text; -1 for a value not there."""
    index = {label: i for i, label in enumerate(labels)}
    array = values.to_numpy() if hasattr(values, "to_numpy") else values  # a frame's column
    if isinstance(array, np.ndarray):
        # each distinct value turned into text once: a set's labels are few, its examples many
        distinct = _distinct(array)
        if distinct is not None:
            uniques, inverse = distinct
            found = np.array([index.get(u, -1) for u in _text(uniques)], dtype=np.int64)
            return found[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=np.int64)
    return np.fromiter((index.get(v, -1) for v in _text(values)), dtype=np.int64, count=len(values))


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(values, return_inverse=True)`` where equal values are exactly those with
    equal text (integers, booleans, strings); None for other values (floats: ``-0.0 == 0.0``)."""
    if values.dtype.kind not in "iubO":
        return None
    try:
        uniques, inverse = np.unique(values, return_inverse=True)
    except TypeError:  # objects that do not sort together (text and numbers)
        return None
    if values.dtype.kind == "O" and not all(type(u) is str for u in uniques.tolist()):
        return None
    return uniques, inverse


def most_confused(matrix: np.ndarray, classes: Sequence[Any], top: int = 10) -> list[ConfusedPair]:
    """The off-diagonal cells of a confusion matrix, largest first (ties: by class order)."""
    off = np.array(matrix, dtype=np.int64, copy=True)
    np.fill_diagonal(off, 0)
    total = int(off.sum())
    cells = [(int(off[i, j]), i, j) for i in range(off.shape[0]) for j in range(off.shape[1]) if off[i, j]]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [
        ConfusedPair(str(classes[i]), str(classes[j]), count, count / total) for count, i, j in cells[:top]
    ]


def highest_loss(
    predictions: pd.DataFrame | Columns, top: int = 10, extra: Sequence[str] = ()
) -> pd.DataFrame | Columns:
    """The ``top`` examples with the highest loss, highest first, as the same kind of table as
    ``predictions``: ties in row order, NaN losses last (pandas' ``nlargest``)."""
    columns = [c for c in ("id", "y_true", "y_pred", "confidence", "loss", *extra) if c in predictions]
    if isinstance(predictions, Columns):
        loss = np.asarray(predictions["loss"], dtype=np.float64)
        missing = np.isnan(loss)
        kept = np.flatnonzero(~missing)
        order = np.concatenate([kept[np.argsort(-loss[kept], kind="stable")], np.flatnonzero(missing)])
        return predictions.take(order[: max(top, 0)], columns)
    return predictions.nlargest(top, "loss")[columns].reset_index(drop=True)


def records(table: pd.DataFrame | Columns) -> list[dict[str, Any]]:
    """One dict per row of ``table``, column name -> Python value (``to_dict("records")``)."""
    return table.records() if isinstance(table, Columns) else table.to_dict("records")


def slice_keys(column: pd.Series, n_bins: int) -> pd.Series:
    """Slice keys: the value itself, or a quantile bin for numeric columns with many values."""
    is_number = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if is_number and column.nunique(dropna=True) > n_bins:
        binned = pd.qcut(column, q=n_bins, duplicates="drop")
        keys = binned.astype("string")
    else:
        keys = column.astype("string")
    return keys.fillna("(missing)")


def slice_error_rates(
    predictions: pd.DataFrame, columns: Sequence[str], n_bins: int = 4, min_count: int = 1
) -> list[SliceRow]:
    """Error rate per value of each metadata column, weakest slices first.

    Slices are ranked by the lower end of their 95% Wilson interval, so a slice is ranked weak
    for what its errors show at least, not because one unlucky error fell in a tiny slice.
    Numeric columns with more than ``n_bins`` distinct values are cut into quantile bins.

    Args:
        predictions: per-example predictions with ``correct`` and the metadata columns.
        columns: the metadata columns to slice by.
        n_bins: quantile bins for numeric columns with many values.
        min_count: leave out slices with fewer examples.

    Returns:
        One row per (column, value), weakest first.
    """
    wrong = ~predictions["correct"].astype(bool)
    base = float(wrong.mean()) if len(wrong) else float("nan")
    rows = []
    for column in columns:
        keys = slice_keys(predictions[column], n_bins)
        grouped = wrong.groupby(keys, sort=True)
        for value, group in grouped:
            n, k = len(group), int(group.sum())
            if n < min_count:
                continue
            low, high = wilson_interval(k, n)
            rate = k / n
            rows.append(
                SliceRow(
                    str(column), str(value), n, k, rate, low, high, rate / base if base else float("nan")
                )
            )
    rows.sort(key=lambda r: (-r.low, -r.error_rate, r.column, r.value))
    return rows


def set_report(
    predictions: pd.DataFrame | Columns,
    classes: Sequence[Any],
    metadata_columns: Sequence[str] = (),
    top: int = 10,
) -> SetReport:
    """Per-class metrics, confusion, most-confused pairs, highest-loss examples and slices.

    Args:
        predictions: a set's per-example predictions (``predictions/<set>.parquet``): a frame,
            or its columns (``id``, ``y_true``, ``y_pred``, ``correct``, ``loss``, optionally
            ``confidence``) when there is no metadata column to slice by.
        classes: class labels in index order.
        metadata_columns: columns to slice the error rate by.
        top: how many confused pairs and highest-loss examples to keep.

    Raises:
        ValueError: metadata columns to slice by with ``predictions`` as :class:`Columns`
            (slices are read from a frame).
    """
    slices: list[SliceRow] = []
    if metadata_columns:
        if isinstance(predictions, Columns):
            raise ValueError("slices by metadata need the predictions as a DataFrame")
        slices = slice_error_rates(predictions, metadata_columns)
    correct = predictions["correct"].astype(bool)
    n, n_errors = len(predictions), int((~correct).sum())
    matrix = confusion(predictions["y_true"], predictions["y_pred"], classes)
    return SetReport(
        n=n,
        n_errors=n_errors,
        error=n_errors / n if n else float("nan"),
        classes=[str(c) for c in classes],
        per_class=per_class_metrics(predictions["y_true"], predictions["y_pred"], classes),
        confusion=matrix,
        confused_pairs=most_confused(matrix, classes, top),
        highest_loss=highest_loss(predictions, top, metadata_columns),
        slices=slices,
    )


def _text(values: Sequence[Any] | np.ndarray) -> list[str]:
    # Labels arrive as ints from Parquet, as text from a CSV sheet and as JSON values from
    # run.json: compare them as text everywhere.
    return [str(v) for v in values]
