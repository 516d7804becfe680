"""Loaders read what a task says of its labels from the task registry, never from its name.

A task declares how its targets are held (``labels``), how many classes it takes
(``exact_classes``), whether its labels are several target columns (``multiple_targets``) or one
class per step (``step_labels``); the data layer reads those (``dlkit.data.dataset.task_rules``).
A task registered here with those attributes alone is loaded as the built-in tasks are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data._common import encode_target, no_labels
from dlkit.data.arrays import NpzSource
from dlkit.data.dataset import task_rules
from dlkit.data.masks import MaskFolderSource
from dlkit.data.sources import CsvSource, load_source
from dlkit.errors import DataError, RecipeError
from dlkit.recipe.schema import Recipe
from dlkit.tasks import TASKS
from dlkit.tasks.base import Registry, Task

WHERE = "t.csv: target column 'y'"


def test_each_task_says_how_its_labels_are_held() -> None:
    # the table dlkit/data/dataset.py held by task name before the tasks said it themselves
    expected = {
        "binary": "categorical",
        "multiclass": "categorical",
        "verification": "categorical",
        "regression": "continuous",
        **{
            name: "structured"
            for name in (
                "multitask",
                "seq2seq",
                "sequence_labeling",
                "detection",
                "ctc",
                "localization",
                "landmarks",
                "segmentation",
                "trigger_word",
            )
        },
    }
    assert {task.name: task.labels for task in TASKS} == expected
    assert [t.name for t in TASKS if t.exact_classes is not None] == ["binary"]
    assert [t.name for t in TASKS if t.multiple_targets] == ["multitask"]
    assert [t.name for t in TASKS if t.step_labels] == ["sequence_labeling"]
    assert task_rules("binary") is TASKS.get("binary")


def test_the_registry_refuses_a_task_that_says_not_how_its_labels_are_held() -> None:
    class Unsaid(Task):
        name = "unsaid"

    with pytest.raises(
        ValueError, match="task 'unsaid' says not how its labels are held: set labels to one of"
    ):
        Registry().register(Unsaid())


def test_the_built_in_tasks_refuse_labels_as_before() -> None:
    three = pd.Series(["a", "b", "c", "a"])
    with pytest.raises(DataError, match=rf"^{WHERE}: task binary needs exactly 2 classes \(got 3\)$"):
        encode_target(three, "binary", WHERE)
    with pytest.raises(
        DataError, match=rf"^{WHERE}: task multitask needs several 0/1 target columns \(got one\)$"
    ):
        encode_target(three, "multitask", WHERE)
    values, task, classes = encode_target(pd.Series([1.5, 2.0]), "regression", WHERE)
    assert (values.tolist(), values.dtype, task, classes) == ([1.5, 2.0], np.float32, "regression", [])
    with pytest.raises(
        DataError, match=rf"^{WHERE}: no labels, and no trained task and classes to predict for$"
    ):
        no_labels("binary", 3, WHERE, None)
    shapes = {
        task: (y.shape, y.dtype)
        for task in ("binary", "regression", "multitask")
        for y in [no_labels(task, 3, WHERE, ["a", "b"])[0]]
    }
    assert shapes == {
        "binary": ((3,), np.int64),
        "regression": ((3,), np.float32),
        "multitask": ((3, 2), np.float32),  # one column per target
    }


class _Ternary(Task):
    name = "ternary"
    labels = "categorical"
    exact_classes = 3


class _Tags(Task):
    name = "tags"
    labels = "structured"
    multiple_targets = True


class _Tagging(Task):
    name = "tagging"
    labels = "structured"
    step_labels = True


@pytest.fixture
def new_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three tasks that exist only as registry entries: no loader knows their names."""
    registry = Registry()
    for task in (_Ternary(), _Tags(), _Tagging()):
        monkeypatch.setitem(TASKS._tasks, task.name, registry.register(task))


def test_a_new_task_is_loaded_by_what_it_says_of_its_labels(new_tasks: None, workdir: Path) -> None:
    with pytest.raises(DataError, match=rf"^{WHERE}: task ternary needs exactly 3 classes \(got 2\)$"):
        encode_target(pd.Series(["a", "b"]), "ternary", WHERE)
    assert encode_target(pd.Series(["b", "c", "a"]), "ternary", WHERE)[0].tolist() == [1, 2, 0]

    pd.DataFrame({"x": [0.1, 0.2, 0.3], "cat": [1, 0, 1], "dog": [0, 0, 1]}).to_csv("t.csv", index=False)
    several = CsvSource(path=Path("t.csv"), target=["cat", "dog"])
    data = load_source(several, "tags", workdir)
    assert (data.task, data.classes, data.y.tolist()) == ("tags", ["cat", "dog"], [[1, 0], [0, 0], [1, 1]])
    with pytest.raises(
        RecipeError, match=r"data\.task: tags needs a list of 0/1 target columns \(got 'cat'\)"
    ):
        load_source(CsvSource(path=Path("t.csv"), target="cat"), "tags", workdir)
    with pytest.raises(RecipeError, match=r"data\.task: ternary takes one target column \(got 2: cat, dog\)"):
        load_source(several, "ternary", workdir)

    x = np.zeros((2, 3, 1), dtype=np.float32)
    np.savez("steps.npz", x=x, y=np.array([["B", "O", "-"], ["O", "-", "-"]]))
    steps = load_source(NpzSource(path=Path("steps.npz"), padding_label="-"), "tagging", workdir)
    assert (steps.task, steps.classes, steps.y.tolist()) == ("tagging", ["B", "O"], [[0, 1, -1], [1, -1, -1]])
    with pytest.raises(
        RecipeError, match=r"data\.task: per-step labels \(2, 3\) are sequence_labeling \(got ternary\)"
    ):
        load_source(NpzSource(path=Path("steps.npz"), padding_label="-"), "ternary", workdir)


def _recipe(source: dict[str, object]) -> Recipe:
    return Recipe.model_validate({"name": "r", "data": {"source": source}, "model": {"type": "mlp"}})


def test_a_source_spec_says_the_task_its_labels_imply() -> None:
    masks = {"type": "masks", "path": "m", "image_size": [4, 4]}
    assert MaskFolderSource.implied_task == "segmentation"
    assert _recipe(masks).known_task() == "segmentation"
    assert _recipe({"type": "csv", "path": "t.csv", "target": ["a", "b"]}).known_task() == "multitask"
    assert _recipe({"type": "csv", "path": "t.csv", "target": "a"}).known_task() is None  # its values tell
    with pytest.raises(
        RecipeError, match=r"a masks source gives a class per pixel: task segmentation \(got binary\)"
    ):
        load_source(MaskFolderSource.model_validate(masks), "binary", Path.cwd())
