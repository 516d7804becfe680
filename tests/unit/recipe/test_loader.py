"""Recipe loading: YAML, overrides typed by the schema, one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.errors import RecipeError
from dlkit.models import MODELS
from dlkit.recipe.loader import apply_override, dump_recipe, flatten, load_recipe, read_yaml
from dlkit.recipe.schema import Recipe
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


def test_minimal_recipe_gets_defaults(workdir: Path) -> None:
    recipe = load_recipe(write_recipe(workdir, BASE))
    assert recipe.train.epochs == 20
    assert recipe.train.optimizer.type == "adam"
    assert recipe.train.optimizer.epsilon == 1e-8  # docs/method.md §6, not Keras's 1e-7
    assert recipe.data.split is None  # size-aware default chosen at split time
    assert recipe.tracking.uri is None


def test_typo_gets_one_line_with_did_you_mean(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "train:\n  optimizer: {type: adam, learnig_rate: 0.01}\n")
    assert _error(path) == [
        f"{path}: train.optimizer.learnig_rate: unknown field. Did you mean 'learning_rate'?"
    ]


def test_one_line_per_problem_with_got_value(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "train: {epochs: 0, batch_size: many}\n")
    assert _error(path) == [
        f"{path}: train.epochs: input should be greater than or equal to 1 (got 0)",
        f"{path}: train.batch_size: input should be a valid integer, "
        "unable to parse string as an integer (got 'many')",
    ]


def test_unknown_model_type_lists_available_and_suggests(workdir: Path) -> None:
    path = write_recipe(workdir, BASE.replace("type: mlp", "type: cnm"))
    assert _error(path) == [
        f"{path}: model.type: unknown model type 'cnm'. Available: {', '.join(MODELS.names())}. "
        "Did you mean 'cnn'?"
    ]


def test_unknown_field_inside_a_model_type(workdir: Path) -> None:
    path = write_recipe(workdir, BASE.replace("units: [8]", "unit: [8]"))
    assert _error(path) == [f"{path}: model.unit: unknown field. Did you mean 'units'?"]


def test_unknown_field_without_close_match_lists_fields(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "targets: {zzz: 1}\n")
    assert _error(path) == [f"{path}: targets.zzz: unknown field. Expected one of: human_error."]


def test_missing_sections(workdir: Path) -> None:
    path = write_recipe(workdir, "name: t\n")
    assert _error(path) == [
        f"{path}: data: required field is missing",
        f"{path}: model: required field is missing",
    ]


def test_missing_type_in_source(workdir: Path) -> None:
    path = write_recipe(workdir, BASE.replace("{type: sklearn, name: iris}", "{name: iris}"))
    assert _error(path) == [
        f"{path}: data.source.type: missing; expected one of: "
        "boxes, canvas, csv, glyphs, image_csv, images, masks, npz, parquet, sequence, sklearn, text, "
        "text_pairs, wav"
    ]


def test_split_fractions_must_add_up(workdir: Path) -> None:
    text = BASE.replace(
        "name: iris}", "name: iris}\n  split: {train: 0.8, train_dev: 0.05, dev: 0.1, test: 0.1}"
    )
    path = write_recipe(workdir, text)
    assert _error(path) == [
        f"{path}: data.split: train + train_dev + dev + test add up to 1.05; "
        "they must add up to 1 (or leave out train to give it the rest)"
    ]


def test_split_train_takes_the_rest(workdir: Path) -> None:
    text = BASE.replace("name: iris}", "name: iris}\n  split: {train_dev: 0.1, dev: 0.2, test: 0.2}")
    recipe = load_recipe(write_recipe(workdir, text))
    assert recipe.data.split is not None
    assert recipe.data.split.fractions()["train"] == pytest.approx(0.5)


def test_bad_satisficing_constraint(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + 'metrics: {satisfice: {latency_ms: "fast"}}\n')
    assert _error(path) == [
        f"{path}: metrics.satisfice.latency_ms: expected an operator and a number like '<= 100' (got 'fast')"
    ]


def test_invalid_yaml_names_line(workdir: Path) -> None:
    path = write_recipe(workdir, "name: t\ndata: [unclosed\n")
    (line,) = _error(path)
    assert line.startswith(f"{path}: line 3, column 1: invalid YAML:")


def test_duplicate_key_is_refused(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "seed: 1\nseed: 2\n")
    (line,) = _error(path)
    assert "duplicate key 'seed'" in line and line.startswith(f"{path}: line 6, column 1:")


def test_missing_file_and_non_mapping(workdir: Path) -> None:
    assert _error(workdir / "nope.yaml") == [f"{workdir / 'nope.yaml'}: file not found"]
    path = write_recipe(workdir, "- a\n- b\n")
    assert _error(path) == [f"{path}: expected a mapping at the top level (got list)"]
    empty = write_recipe(workdir, "", "empty.yaml")
    assert _error(empty) == [f"{empty}: the recipe is empty; expected a mapping with name, data and model"]


def test_overrides_are_typed_by_the_schema(workdir: Path) -> None:
    path = write_recipe(workdir, BASE)
    recipe = load_recipe(
        path,
        ["train.epochs=3", "train.optimizer.learning_rate=1e-4", "model.units.1=4", "data.split.dev=0.3"],
    )
    assert recipe.train.epochs == 3 and isinstance(recipe.train.epochs, int)
    assert recipe.train.optimizer.learning_rate == pytest.approx(1e-4)
    assert recipe.model.units == [8, 4]
    assert recipe.data.split is not None and recipe.data.split.dev == pytest.approx(0.3)


def test_override_switching_optimizer_type(workdir: Path) -> None:
    recipe = load_recipe(
        write_recipe(workdir, BASE), ["train.optimizer.type=sgd", "train.optimizer.momentum=0.9"]
    )
    assert recipe.train.optimizer.type == "sgd" and recipe.train.optimizer.momentum == 0.9


def test_override_errors(workdir: Path) -> None:
    path = write_recipe(workdir, BASE)
    assert _error(path, ["train.epocs=3"]) == [f"{path}: train.epocs: unknown field. Did you mean 'epochs'?"]
    assert _error(path, ["train.epochs=three"])[0].endswith("(got 'three')")
    with pytest.raises(RecipeError, match=r"expected dotted\.path=value"):
        load_recipe(path, ["train.epochs"])
    with pytest.raises(RecipeError, match=r"--set name.x=1: name is a value, not a section"):
        load_recipe(path, ["name.x=1"])
    with pytest.raises(RecipeError, match=r"model.units.5: expected a list index 0..1"):
        load_recipe(path, ["model.units.5=3"])


def test_apply_override_creates_sections() -> None:
    data: dict = {}
    apply_override(data, "train.early_stopping.patience=3")
    assert data == {"train": {"early_stopping": {"patience": 3}}}


def test_relative_data_path_is_taken_from_recipe_folder(workdir: Path) -> None:
    sub = workdir / "project"
    sub.mkdir()
    path = write_recipe(
        sub, "name: t\ndata: {source: {type: csv, path: data/x.csv, target: y}}\nmodel: {type: mlp}\n"
    )
    recipe = load_recipe(path)
    assert recipe.data.source.path == (sub / "data" / "x.csv").resolve()


def test_resolved_recipe_round_trips(workdir: Path) -> None:
    recipe = load_recipe(write_recipe(workdir, BASE), ["train.epochs=7"])
    again = workdir / "again.yaml"
    again.write_text(dump_recipe(recipe))
    assert load_recipe(again) == recipe
    assert read_yaml(again)["train"]["optimizer"]["beta_2"] == 0.999


def test_resolved_recipe_text_is_what_the_pure_python_dumper_writes(workdir: Path) -> None:
    """libyaml's emitter is used where present: it must write the very text PyYAML's own does
    (run directories' recipe.yaml stay comparable across machines with and without it)."""
    import yaml

    odd = BASE + "tracking: {experiment: 'Zürich: naïve 中文 — a long one " + "x" * 120 + "'}\n"
    paths = [write_recipe(workdir, odd), *sorted((Path(__file__).parents[3] / "recipes").glob("*.yaml"))[:6]]
    for path in paths:
        recipe = load_recipe(path)
        data = recipe.model_dump(mode="json", by_alias=True)
        data = {k: v for k, v in data.items() if not (k in ("tune", "verification") and v is None)}
        python = yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True)
        assert dump_recipe(recipe) == python, path


def test_flatten_gives_dotted_params(workdir: Path) -> None:
    flat = flatten(load_recipe(write_recipe(workdir, BASE)))
    assert flat["train.optimizer.learning_rate"] == 0.001
    assert flat["model.units"] == [8]
    assert flat["data.source.name"] == "iris"


def test_json_schema_covers_registries() -> None:
    schema = Recipe.model_json_schema()
    text = str(schema)
    for name in ("CNNSpec", "MLPSpec", "SklearnSource", "CsvSource", "AdamSpec", "InverseTimeSpec"):
        assert name in schema["$defs"], name
    assert "additionalProperties" in text


def test_optimizer_without_type_is_adam(workdir: Path) -> None:
    recipe = load_recipe(write_recipe(workdir, BASE + "train: {optimizer: {learning_rate: 0.05}}\n"))
    assert recipe.train.optimizer.type == "adam" and recipe.train.optimizer.learning_rate == 0.05


def test_unknown_schedule_type(workdir: Path) -> None:
    path = write_recipe(workdir, BASE + "train: {schedule: {type: inverse}}\n")
    assert _error(path) == [
        f"{path}: train.schedule.type: unknown schedule type 'inverse'. "
        "Available: cosine, exponential, inverse_time, reduce_on_plateau, sqrt, step. "
        "Did you mean 'inverse_time'?"
    ]
