"""Rule tags: categories computed from metadata columns with a fixed set of operators.

Each operator maps to a pandas comparison below; nothing from a recipe is evaluated as code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit.analysis.section import NUMERIC_OPERATORS
from dlkit.errors import RecipeError

if TYPE_CHECKING:
    import pandas as pd

    from dlkit.analysis.spec import RuleSpec
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")


def _equals(col: pd.Series, value: Any) -> pd.Series:
    return _same(col, value)


def _not_equals(col: pd.Series, value: Any) -> pd.Series:
    return ~_same(col, value)


def _same(col: pd.Series, value: Any) -> pd.Series:
    # YAML reads `equals: 1` as an int while a CSV column may hold "1" or 1.0: compare by value
    # where the column is numeric, else by text.
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number):
            return pd.Series(False, index=col.index)
        return (col == number).fillna(False).astype(bool)
    if pd.api.types.is_bool_dtype(col) and isinstance(value, bool):
        return (col == value).fillna(False).astype(bool)
    return (col.astype("string") == str(value)).fillna(False).astype(bool)


def _in(col: pd.Series, values: list[Any]) -> pd.Series:
    out = pd.Series(False, index=col.index)
    for value in values:
        out |= _same(col, value)
    return out


def _contains(col: pd.Series, text: str) -> pd.Series:
    return col.astype("string").str.contains(text, regex=False).fillna(False).astype(bool)


def _is_null(col: pd.Series, flag: bool) -> pd.Series:
    missing = col.isna()
    return missing if flag else ~missing


_COMPARE: dict[str, Callable[[pd.Series, float], pd.Series]] = {
    "below": lambda c, v: c < v,
    "above": lambda c, v: c > v,
    "at_most": lambda c, v: c <= v,
    "at_least": lambda c, v: c >= v,
}

_OTHER: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    "equals": _equals,
    "not_equals": _not_equals,
    "in": _in,
    "contains": _contains,
    "is_null": _is_null,
}


def apply_rule(frame: pd.DataFrame, name: str, rule: RuleSpec) -> pd.Series:
    """Where one rule holds.

    Args:
        frame: examples with the rule's metadata column.
        name: the rule's name, for error messages (``analysis.rules.<name>``).
        rule: the validated rule.

    Returns:
        A boolean Series aligned with ``frame`` (missing values never satisfy a comparison).

    Raises:
        RecipeError: the column does not exist, or a numeric operator meets a non-numeric column.
    """
    where = f"analysis.rules.{name}"
    if rule.column not in frame.columns:
        suggestion = did_you_mean(rule.column, map(str, frame.columns))
        raise RecipeError(
            f"{where}.column: no column '{rule.column}' in the predictions.{suggestion}",
            hint="rules read the metadata columns listed under data.source.metadata",
        )
    col = frame[rule.column]
    op = rule.operator
    if op in NUMERIC_OPERATORS:
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise RecipeError(
                f"{where}.{op}: column '{rule.column}' is not numeric (dtype {col.dtype}); "
                f"{op} compares numbers"
            )
        return _COMPARE[op](col, float(rule.value)).fillna(False).astype(bool)
    return _OTHER[op](col, rule.value).astype(bool)


def apply_rules(frame: pd.DataFrame, rules: Mapping[str, RuleSpec]) -> pd.DataFrame:
    """One boolean column per rule, aligned with ``frame``.

    Raises:
        RecipeError: a rule names a missing column or compares text with a number.
    """
    columns = {name: apply_rule(frame, name, rule).to_numpy(dtype=bool) for name, rule in rules.items()}
    return (
        pd.DataFrame(columns, index=frame.index, dtype=bool)
        if columns
        else pd.DataFrame(index=frame.index, dtype=bool)
    )


def rule_summary(rules: Mapping[str, RuleSpec]) -> dict[str, str]:
    """Each rule in words (``source equals 'phone'``)."""
    return {name: rule.describe() for name, rule in rules.items()}


__all__ = ["apply_rule", "apply_rules", "rule_summary"]
