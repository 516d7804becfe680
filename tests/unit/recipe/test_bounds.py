"""The recipe reader's bounds and the shapes of YAML that used to crash or stall it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dlkit.errors import RecipeError
from dlkit.recipe import loader
from dlkit.recipe.loader import MAX_BYTES, MAX_NODES, load_recipe, parse_yaml
from tests.conftest import write_recipe

BASE = """
name: t
data:
  source: {type: sklearn, name: iris}
model: {type: mlp, units: [8]}
"""


def _error(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides)
    assert info.value.exit_code == 2
    return info.value.lines


def _no_building(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building Python objects from YAML fail: a refusal must come before it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML was built before the bound was checked")

    monkeypatch.setattr(loader.yaml, "load", refuse)


def test_a_folder_is_not_file_not_found(workdir: Path) -> None:
    (workdir / "r.yaml").mkdir()
    assert _error(workdir / "r.yaml") == [f"{workdir / 'r.yaml'}: is a folder; expected a recipe YAML file"]


def test_an_oversized_recipe_is_refused_before_reading(workdir: Path, monkeypatch) -> None:
    path = write_recipe(workdir, BASE + "#" * (MAX_BYTES + 10))
    _no_building(monkeypatch)
    monkeypatch.setattr(loader, "parse_yaml", lambda text: pytest.fail("parsed an oversized recipe"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.lines == [f"{path}: 1.0 MiB is over the 1 MiB a recipe may be"]
    assert info.value.hint == "a recipe holds settings; point data.source.path at the data instead"


def test_an_alias_bomb_is_refused_from_the_event_stream(workdir: Path, monkeypatch) -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for prev, cur in zip("abcdefg", "bcdefgh", strict=True):
        text += f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 10)}]\n"
    path = write_recipe(workdir, text)
    _no_building(monkeypatch)
    (line,) = _error(path)
    assert line == (
        f"{path}: line 5, column 20: more than {MAX_NODES:,} values (aliases expanded); "
        "a recipe holds settings, not data"
    )


def test_aliases_below_the_bound_still_work() -> None:
    assert parse_yaml("a: &x {k: 1}\nb: *x\nc: {<<: *x, j: 2}\n") == {
        "a": {"k": 1},
        "b": {"k": 1},
        "c": {"k": 1, "j": 2},
    }


def test_deep_nesting_is_refused_with_its_position(workdir: Path, monkeypatch) -> None:
    path = write_recipe(workdir, "name: " + "[" * 60 + "]" * 60 + "\n")
    _no_building(monkeypatch)
    assert _error(path) == [f"{path}: line 1, column 56: nested deeper than 50 levels"]


def test_a_recursive_alias_is_refused(workdir: Path) -> None:
    path = write_recipe(workdir, "name: &a [1, *a]\n")
    assert _error(path) == [f"{path}: line 1, column 14: alias *a refers to a node that contains it"]


@pytest.mark.parametrize(
    ("key", "what"), [("[a, b]", "a list cannot be a key"), ("{a: 1}", "a mapping cannot be a key")]
)
def test_a_list_or_mapping_as_key_is_one_line(workdir: Path, key: str, what: str) -> None:
    path = write_recipe(workdir, BASE + f"? {key}\n: 1\n")
    assert _error(path) == [f"{path}: line 5, column 3: invalid YAML: {what} (keys are names)"]


def test_a_value_its_tag_cannot_hold_is_one_line(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "seed: !!int seven\n")
    assert _error(path) == [
        f"{path}: line 5, column 7: invalid YAML: cannot read 'seven' as int "
        "(invalid literal for int() with base 10: 'seven')"
    ]


def test_a_control_character_is_placed(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "seed: 1\x07\n")
    (line,) = _error(path)
    assert line.startswith(f"{path}: line 5, column 8: invalid YAML: unacceptable character #x0007")


def test_a_key_with_a_newline_stays_on_one_line(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + '"a\\nb": 1\n')
    assert _error(path) == [
        f"{path}: 'a\\nb': unknown field. Expected one of: name, seed, data, model, train, metrics, "
        "targets, tracking, analysis, tune, verification."
    ]


def test_a_typo_in_an_optional_union_shows_the_users_path(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "train: {schedule: {type: inverse_time, decay_rat: 0.5}}\n")
    assert _error(path) == [f"{path}: train.schedule.decay_rat: unknown field. Did you mean 'decay_rate'?"]


def test_the_alternatives_of_a_plain_union_share_one_line(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "train: {mixed_precision: sometimes}\n")
    assert _error(path) == [
        f"{path}: train.mixed_precision: input should be a valid boolean or 'auto' (got 'sometimes')"
    ]
    path = write_recipe(workdir, BASE.replace("type: mlp, units: [8]", "type: cnn, kernel_size: [3, x]"))
    assert _error(path) == [
        f"{path}: model.kernel_size.1: input should be a valid integer, unable to parse string as an "
        "integer (got 'x')"
    ]


def test_an_override_too_deep_is_refused(workdir: Path) -> None:
    path = write_recipe(workdir, BASE)
    assert _error(path, ["name=" + "[" * 60]) == [
        "--set name: line 1, column 51: nested deeper than 50 levels"
    ]


def test_a_merge_of_a_scalar_is_invalid_yaml_not_a_crash() -> None:
    with pytest.raises(yaml.YAMLError, match="expected a mapping or list of mappings for merging"):
        parse_yaml("a: &b 3\nc: {<<: *b}\n")
