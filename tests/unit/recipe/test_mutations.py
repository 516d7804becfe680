"""Property: whatever a mutated recipe says, `dlkit recipe validate` answers in lines, never a crash.

Valid recipes (the digits quick start and a CSV recipe that uses most sections) are mutated
a few places at a time: values replaced by junk of every type (huge and negative numbers, inf,
NaN, rich markup, control characters, lists, mappings), keys deleted, misspelt or added,
values wrapped in lists, and the YAML text itself cut and spliced. Each answer must be a
valid-or-refused exit code, at most the capped number of error lines, no traceback, quickly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.cli._errors import MAX_ERROR_LINES
from tests.conftest import REPO

CSV_RECIPE = {
    "name": "table-mlp",
    "seed": 3,
    "data": {
        "source": {"type": "csv", "path": "data/table.csv", "target": "label", "metadata": ["source"]},
        "split": {"train_dev": 0.1, "dev": 0.2, "test": 0.2, "group": "patient"},
        "normalize": True,
    },
    "model": {"type": "mlp", "units": [32, 16], "dropout": [0.1, 0.0], "batch_norm": False},
    "train": {
        "epochs": 5,
        "batch_size": 32,
        "optimizer": {"type": "sgd", "learning_rate": 0.01, "momentum": 0.9},
        "schedule": {"type": "reduce_on_plateau", "monitor": "val_loss", "factor": 0.5},
        "early_stopping": {"monitor": "val_accuracy", "patience": 3},
        "loss": "sparse_categorical_crossentropy",
        "regularization": {"l2": 1.0e-4},
    },
    "metrics": {"optimize": "accuracy", "satisfice": {"latency_ms": "<= 10", "params": "<= 1e6"}},
    "targets": {"human_error": 0.02},
    "tracking": {"experiment": "tables", "runs_dir": "runs"},
    "analysis": {"categories": ["blurry"], "rules": {"phone": {"column": "source", "equals": "phone"}}},
    "tune": {
        "trials": 4,
        "space": {
            "train.optimizer.learning_rate": {"log": [1.0e-4, 1.0e-1]},
            "model.units.0": {"int": [8, 64]},
        },
    },
}
BASES = [yaml.safe_load((REPO / "recipes" / "digits-cnn.yaml").read_text()), CSV_RECIPE]

TRICKY = [
    "[/x]",
    "[bold]x",
    "[a, b]",
    "\x1b[2J",
    "a\nb",
    "",
    " ",
    ".inf",
    "adam",
    "cnn",
    "csv",
    "inverse_time",
    "val_loss",
    "acuracy",
    "<= 100",
    "type",
    "a\x00b",
    "~nobody-here/runs",
    "n" * 300,
]
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.sampled_from(TRICKY),
)
_junk = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=4),
    st.dictionaries(st.one_of(_text, st.sampled_from(TRICKY)), _scalars, max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value of ``node`` (keys and list indices), the root excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_recipes(draw: st.DrawFn) -> str:
    recipe = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(recipe))
        path = draw(st.sampled_from(paths))
        parent, key = _parent(recipe, path), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "insert", "wrap"]))
        if action == "replace":
            parent[key] = draw(_junk)
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif isinstance(parent, dict) and action == "delete":
            del parent[key]
        elif isinstance(parent, dict) and action == "rename":
            name = draw(st.one_of(_text, st.sampled_from(TRICKY), st.just(str(key)[:-1] or "x")))
            parent[name] = parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(st.one_of(_text, st.sampled_from(TRICKY)))] = draw(_junk)
        else:  # a list: drop or add an item
            parent.pop(key) if action == "delete" else parent.append(draw(_junk))
    text = yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):
        return text
    # the text itself damaged: a slice cut out and something spliced in
    start = draw(st.integers(min_value=0, max_value=len(text)))
    stop = draw(st.integers(min_value=start, max_value=min(len(text), start + 20)))
    return (
        text[:start]
        + draw(st.one_of(_text, st.sampled_from(["{", "[", ": ", "- ", "&a ", "*a", "\t"])))
        + text[stop:]
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutations")


@settings(
    max_examples=200,
    deadline=2000,  # ms per example: a validation that stalls fails here
    database=None,  # no .hypothesis folder in the working directory
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=mutated_recipes())
def test_validate_never_crashes_on_a_mutated_recipe(text: str, folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["recipe", "validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    if result.exit_code == 0:
        assert not errors and len(lines) == 1 and lines[0].endswith(")"), result.output
        return
    assert 1 <= len(errors) <= MAX_ERROR_LINES, result.output
    assert all(line.startswith(f"error: {path}: ") for line in errors), result.output
    others = [line for line in lines if not line.startswith(("error: ", "hint: ", "... and "))]
    assert not others, result.output
