"""The recipe's ``analysis`` section without pydantic: its operators, defaults and sheet columns.

:class:`~dlkit.analysis.spec.AnalysisSpec` (pydantic, about a tenth of a CPU second to import
with pydantic's model machinery) validates a section a recipe writes. A run whose recipe has
none, or the defaults ``dlkit train`` writes out, needs no validation: the reports that read a
finished run (``analyze-errors``) take :class:`AnalysisDefaults` then. The spec's defaults are
the constants here, and a test checks that both dump the same section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dlkit.analysis.categories import INCORRECTLY_LABELLED

# Operators in the order they are documented; ``in`` is a Python keyword, so its field is ``in_``.
OPERATORS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "in",
    "below",
    "above",
    "at_most",
    "at_least",
    "contains",
    "is_null",
)
NUMERIC_OPERATORS = frozenset({"below", "above", "at_most", "at_least"})

# How many misclassified dev examples the sheet holds when the recipe does not say.
DEFAULT_SAMPLE = 100


def sheet_categories(categories: Iterable[str]) -> list[str]:
    """The boolean columns of the sheet: the recipe's categories, then incorrectly_labelled."""
    return [*(c for c in categories if c != INCORRECTLY_LABELLED), INCORRECTLY_LABELLED]


@dataclass(frozen=True)
class AnalysisDefaults:
    """The ``analysis`` section of a recipe that sets none: no categories, no rules, the default
    sample. Read as :class:`~dlkit.analysis.spec.AnalysisSpec` is (same attributes and methods).
    """

    categories: tuple[str, ...] = ()
    rules: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sample: int = DEFAULT_SAMPLE

    def sheet_categories(self) -> list[str]:
        """The boolean columns of the sheet: only incorrectly_labelled."""
        return sheet_categories(self.categories)

    def model_dump(self) -> dict[str, Any]:
        """The section as ``AnalysisSpec().model_dump()`` gives it (and ``dlkit train`` writes it)."""
        return {"categories": list(self.categories), "rules": dict(self.rules), "sample": self.sample}
