"""The analysis section's defaults without pydantic are the spec's own: same fields, same dump."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields

import pytest

from dlkit.analysis.section import AnalysisDefaults
from dlkit.analysis.spec import AnalysisSpec


def test_the_defaults_are_the_specs() -> None:
    defaults, spec = AnalysisDefaults(), AnalysisSpec()
    assert [f.name for f in fields(AnalysisDefaults)] == list(AnalysisSpec.model_fields)
    assert defaults.model_dump() == spec.model_dump() == {"categories": [], "rules": {}, "sample": 100}
    assert defaults.sheet_categories() == spec.sheet_categories() == ["incorrectly_labelled"]
    assert not defaults.rules and list(defaults.categories) == spec.categories


def test_the_defaults_cannot_be_changed() -> None:
    defaults = AnalysisDefaults()
    with pytest.raises(FrozenInstanceError):
        defaults.sample = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        defaults.rules["r"] = None  # type: ignore[index]
    assert AnalysisDefaults().model_dump()["rules"] == {}
