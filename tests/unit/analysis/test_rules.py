"""Rule tags: a fixed set of operators over metadata columns, never code."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from dlkit.analysis.rules import apply_rule, apply_rules
from dlkit.analysis.spec import AnalysisSpec, RuleSpec
from dlkit.errors import RecipeError

FRAME = pd.DataFrame(
    {
        "source": ["phone", "web", None, "phone-old", "scanner"],
        "brightness": [0.1, 0.5, 0.2, None, 0.9],
        "level": [1, 2, 3, 2, 1],
    }
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"column": "source", "equals": "phone"}, [True, False, False, False, False]),
        ({"column": "source", "not_equals": "phone"}, [False, True, True, True, True]),
        ({"column": "source", "in": ["web", "scanner"]}, [False, True, False, False, True]),
        ({"column": "source", "contains": "phone"}, [True, False, False, True, False]),
        ({"column": "source", "is_null": True}, [False, False, True, False, False]),
        ({"column": "source", "is_null": False}, [True, True, False, True, True]),
        ({"column": "brightness", "below": 0.2}, [True, False, False, False, False]),
        ({"column": "brightness", "at_most": 0.2}, [True, False, True, False, False]),
        ({"column": "brightness", "above": 0.5}, [False, False, False, False, True]),
        ({"column": "brightness", "at_least": 0.5}, [False, True, False, False, True]),
        ({"column": "level", "equals": 2}, [False, True, False, True, False]),
        ({"column": "level", "equals": "2"}, [False, True, False, True, False]),
        ({"column": "level", "in": [1, 3]}, [True, False, True, False, True]),
    ],
)
def test_each_operator(rule, expected):
    assert apply_rule(FRAME, "r", RuleSpec.model_validate(rule)).tolist() == expected


def test_apply_rules_gives_one_boolean_column_per_rule():
    rules = {
        "phone": RuleSpec.model_validate({"column": "source", "equals": "phone"}),
        "dark": RuleSpec.model_validate({"column": "brightness", "below": 0.2}),
    }
    tags = apply_rules(FRAME, rules)
    assert list(tags.columns) == ["phone", "dark"]
    assert tags.dtypes.tolist() == [bool, bool]
    assert tags["phone"].sum() == 1 and tags["dark"].sum() == 1


def test_a_rule_value_is_never_evaluated_as_code():
    rule = RuleSpec.model_validate({"column": "source", "equals": "__import__('os').system('false')"})
    assert not apply_rule(FRAME, "r", rule).any()


def test_rule_needs_exactly_one_operator():
    with pytest.raises(ValidationError, match="exactly one operator"):
        RuleSpec.model_validate({"column": "source", "equals": "a", "below": 1})
    with pytest.raises(ValidationError, match=r"exactly one operator .* \(got none\)"):
        RuleSpec.model_validate({"column": "source"})


def test_unknown_operator_is_rejected():
    with pytest.raises(ValidationError, match="extra"):
        RuleSpec.model_validate({"column": "source", "matches": "p.*"})


def test_missing_column_names_the_rule_and_suggests():
    rule = RuleSpec.model_validate({"column": "sourse", "equals": "phone"})
    with pytest.raises(RecipeError) as info:
        apply_rule(FRAME, "phone", rule)
    assert info.value.message == (
        "analysis.rules.phone.column: no column 'sourse' in the predictions. Did you mean 'source'?"
    )
    assert info.value.exit_code == 2


def test_numeric_operator_on_text_column_is_a_recipe_error():
    rule = RuleSpec.model_validate({"column": "source", "below": 1})
    with pytest.raises(RecipeError, match=r"analysis.rules.r.below: column 'source' is not numeric"):
        apply_rule(FRAME, "r", rule)


def test_rule_round_trips_through_its_yaml_dump():
    rule = RuleSpec.model_validate({"column": "source", "in": ["a", "b"]})
    dumped = rule.model_dump(mode="json")
    # only the rule's one operator is written: no nulls for the eight it does not use
    assert dumped == {"column": "source", "in": ["a", "b"]}
    assert RuleSpec.model_validate(dumped) == rule
    assert rule.describe() == "source in ['a', 'b']"


def test_analysis_spec_defaults_and_sheet_columns():
    spec = AnalysisSpec.model_validate({"categories": ["blurry", "dog"]})
    assert spec.sample == 100 and spec.rules == {}
    assert spec.sheet_categories() == ["blurry", "dog", "incorrectly_labelled"]
    again = AnalysisSpec.model_validate({"categories": ["incorrectly_labelled", "dog"]})
    assert again.sheet_categories() == ["dog", "incorrectly_labelled"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"categories": ["blurry", "blurry"]}, "category 'blurry' is listed twice"),
        ({"categories": ["a b"]}, "category name 'a b': use letters"),
        ({"categories": ["loss"]}, "category name 'loss' is a column the sheet already has"),
        (
            {"categories": ["phone"], "rules": {"phone": {"column": "s", "equals": 1}}},
            "'phone' is both a hand-tagged category and a rule",
        ),
        ({"sample": 0}, "greater than or equal to 1"),
        ({"categorys": ["a"]}, "Extra inputs are not permitted"),
    ],
)
def test_analysis_spec_rejects_bad_input(data, message):
    with pytest.raises(ValidationError, match=message):
        AnalysisSpec.model_validate(data)


def test_resolved_recipe_dump_omits_unused_operators_and_errors_say_in(tmp_path):
    from dlkit.recipe.loader import dump_recipe, load_recipe

    text = (
        "name: t\ndata: {source: {type: sklearn, name: digits}}\nmodel: {type: mlp}\n"
        "analysis: {rules: {phone: {column: source, in: [a, b]}, dark: {column: b, below: 0.2}}}\n"
    )
    path = tmp_path / "r.yaml"
    path.write_text(text)
    dumped = dump_recipe(load_recipe(path))
    assert "null" not in dumped.split("analysis:")[1]
    assert "    phone:\n      column: source\n      in:\n      - a\n      - b\n" in dumped
    assert "    dark:\n      column: b\n      below: 0.2\n" in dumped
    path.write_text(text.replace("in: [a, b]", "inn: [a, b]"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.message == f"{path}: analysis.rules.phone.inn: unknown field. Did you mean 'in'?"
