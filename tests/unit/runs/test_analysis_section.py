"""analyze-errors takes a recipe's default ``analysis`` section without building pydantic's
validators: the same spec as validated; any other section is validated as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dlkit.analysis.spec import AnalysisSpec
from dlkit.errors import RecipeError
from dlkit.rundir import RunDir
from dlkit.runs.analyze_errors import read_analysis_spec


def _run(folder: Path, analysis: object) -> RunDir:
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"run_name": "r", "status": "FINISHED"}))
    recipe = {"name": "r"} if analysis is None else {"name": "r", "analysis": analysis}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return RunDir.open(folder)


@pytest.mark.parametrize(
    "analysis",
    [
        None,
        {},
        {"categories": [], "rules": {}, "sample": 100},  # as dlkit train writes the defaults
        {"categories": ["blurry"], "sample": 30},
        {"rules": {"from_phone": {"column": "source", "equals": "phone"}}},
    ],
)
def test_the_spec_read_is_the_validated_one(tmp_path: Path, analysis: object) -> None:
    spec, _ = read_analysis_spec(_run(tmp_path / "run", analysis))
    expected = AnalysisSpec.model_validate(analysis or {})
    assert spec.model_dump() == expected.model_dump()
    assert spec.sheet_categories() == expected.sheet_categories()


def test_a_section_that_only_looks_like_the_defaults_is_still_validated(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"analysis\.sample"):
        read_analysis_spec(_run(tmp_path / "run", {"categories": [], "rules": {}, "sample": 0}))
