"""The recipe's ``analysis`` section: error-analysis categories, rule tags and the sample size.

Rules are data, never code: each names a metadata column and exactly one operator from a
fixed set (:data:`OPERATORS`). Recipe strings are never evaluated.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from dlkit._spec import Spec
from dlkit.analysis.categories import INCORRECTLY_LABELLED
from dlkit.analysis.section import (  # the operators' home; imported from here too
    DEFAULT_SAMPLE,
    NUMERIC_OPERATORS,  # noqa: F401
    OPERATORS,
    sheet_categories,
)

# Column names the sheet uses itself; a category may not take one of them.
RESERVED_COLUMNS = frozenset(
    {"id", "y_true", "y_pred", "confidence", "loss", "comments", "corrected_label", INCORRECTLY_LABELLED}
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class RuleSpec(Spec):
    """A rule tag: a category that holds where one metadata column meets one condition.

    Examples (YAML): ``{column: source, equals: phone}``, ``{column: brightness, below: 0.2}``,
    ``{column: device, in: [a, b]}``, ``{column: note, is_null: true}``.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, validate_by_name=True, serialize_by_alias=True
    )

    column: str = Field(min_length=1, description="The metadata column the condition reads.")
    equals: Any = Field(default=None, description="Value equal to this.")
    not_equals: Any = Field(
        default=None, description="Value different from this (missing counts as different)."
    )
    in_: list[Any] | None = Field(default=None, alias="in", description="Value is one of these.")
    below: float | None = Field(default=None, description="Value < this.")
    above: float | None = Field(default=None, description="Value > this.")
    at_most: float | None = Field(default=None, description="Value <= this.")
    at_least: float | None = Field(default=None, description="Value >= this.")
    contains: str | None = Field(default=None, description="Text value contains this substring.")
    is_null: bool | None = Field(default=None, description="true: value is missing; false: present.")

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> RuleSpec:
        given = self.operators_given()
        if len(given) != 1:
            what = "none" if not given else ", ".join(given)
            raise ValueError(f"a rule needs exactly one operator out of {', '.join(OPERATORS)} (got {what})")
        return self

    @model_serializer(mode="wrap")
    def _without_unused_operators(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # a rule sets one operator; the eight unset ones would only show as nulls in a dump
        data: dict[str, Any] = handler(self)
        used = self.operators_given()
        return {k: v for k, v in data.items() if k == "column" or k.removesuffix("_") in used}

    def operators_given(self) -> list[str]:
        """The operators this rule sets (exactly one once validated)."""
        return [op for op in OPERATORS if getattr(self, "in_" if op == "in" else op) is not None]

    @property
    def operator(self) -> str:
        """The rule's one operator."""
        return self.operators_given()[0]

    @property
    def value(self) -> Any:
        """The operand of the rule's operator."""
        op = self.operator
        return getattr(self, "in_" if op == "in" else op)

    def describe(self) -> str:
        """``source equals 'phone'``: the rule in words, for reports."""
        return f"{self.column} {self.operator.replace('_', ' ')} {self.value!r}"


class AnalysisSpec(Spec):
    """Error analysis (docs/method.md §4): the categories to tag, rule tags, the sample size."""

    categories: list[str] = Field(
        default_factory=list,
        description="Categories tagged by hand on the error sheet (one boolean column each); "
        "incorrectly_labelled is always added.",
    )
    rules: dict[str, RuleSpec] = Field(
        default_factory=dict,
        description="Categories computed from metadata columns: name -> {column, <operator>: value}.",
    )
    sample: int = Field(
        default=DEFAULT_SAMPLE, ge=1, description="How many misclassified dev examples the sheet holds."
    )

    @field_validator("categories")
    @classmethod
    def _categories_are_names(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            _check_name(name)
            if name in seen:
                raise ValueError(f"category '{name}' is listed twice")
            seen.add(name)
        return value

    @field_validator("rules")
    @classmethod
    def _rules_are_names(cls, value: dict[str, RuleSpec]) -> dict[str, RuleSpec]:
        for name in value:
            _check_name(name)
        return value

    @model_validator(mode="after")
    def _no_shared_names(self) -> AnalysisSpec:
        both = sorted(set(self.categories) & set(self.rules))
        if both:
            raise ValueError(
                f"'{both[0]}' is both a hand-tagged category and a rule; give them different names"
            )
        return self

    def sheet_categories(self) -> list[str]:
        """The boolean columns of the sheet: the recipe's categories, then incorrectly_labelled."""
        return sheet_categories(self.categories)


def _check_name(name: str) -> None:
    if name == INCORRECTLY_LABELLED:
        return
    if not _NAME.match(name):
        raise ValueError(
            f"category name {name!r}: use letters, digits and underscores, starting with a letter"
        )
    if name in RESERVED_COLUMNS:
        raise ValueError(f"category name '{name}' is a column the sheet already has")
