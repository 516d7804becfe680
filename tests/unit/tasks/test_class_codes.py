"""Labels to class numbers: by text, once per distinct label, the same as one label at a time."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dlkit.tasks import task_for
from dlkit.tasks._classes import class_codes
from dlkit.training.streamed_predictions import SetColumns


def _one_at_a_time(labels: np.ndarray, index: dict[str, int]) -> np.ndarray:
    return np.array([index[str(v)] for v in labels], dtype=np.int64)


@pytest.mark.parametrize(
    ("labels", "classes"),
    [
        (np.array([2, 0, 1, 1, 2, 0, 0]), [0, 1, 2]),
        (np.array(["cat", "dog", "cat", "bird"], dtype=object), ["bird", "cat", "dog"]),
        (np.array([True, False, True]), [False, True]),
        (np.array([3, 7, 3], dtype=object), ["3", "7"]),  # numbers read back where classes are text
        (np.array([1, "a", 1, "a"], dtype=object), [1, "a"]),  # kinds that do not sort together
        (np.array([], dtype=np.int64), [0, 1]),
    ],
)
def test_codes_match_the_label_by_label_mapping(labels: np.ndarray, classes: list[object]) -> None:
    index = {str(c): i for i, c in enumerate(classes)}
    codes = class_codes(labels, index)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, _one_at_a_time(labels, index))


def test_a_label_that_is_no_class_is_refused() -> None:
    with pytest.raises(KeyError):
        class_codes(np.array([0, 5]), {"0": 0, "1": 1})


@pytest.mark.parametrize(
    "classes",
    [[0, 1, 2], ["cat", "dog", "bird"], [False, True]],
    ids=["ints", "text", "booleans"],
)
def test_a_streamed_sets_gathered_labels_give_the_codes_and_metrics_of_the_labels_as_text(
    classes: list[object],
) -> None:
    # the streamed path gathers each chunk's labels as a categorical column (codes into the
    # labels seen so far, first seen first); its class numbers must be the text path's
    rng = np.random.default_rng(1)
    k, n, chunk = len(classes), 40, 16
    y = rng.integers(0, k, size=n)
    y[:chunk] = k - 1  # the first chunk has one class: the categories come in another order
    outputs = rng.random((n, k))
    outputs /= outputs.sum(axis=1, keepdims=True)
    if k == 2:
        outputs = outputs[:, 1:]
    task = task_for("binary" if k == 2 else "multiclass")
    data = SimpleNamespace(classes=classes)
    gathered = SetColumns(n)
    for start in range(0, n, chunk):
        gathered.add(task.score(outputs[start : start + chunk], y[start : start + chunk], data).frame, start)
    frame = gathered.frame()
    assert isinstance(frame["y_true"].dtype, pd.CategoricalDtype)
    names = [str(c) for c in classes]
    text = np.array([str(v) for v in frame["y_true"].to_numpy()], dtype=object)
    np.testing.assert_array_equal(class_codes(frame["y_true"], names), y)
    np.testing.assert_array_equal(class_codes(frame["y_true"], names), class_codes(text, names))
    whole = task.score(outputs, y, data)
    assert task.frame_metrics(frame, classes) == whole.metrics


def test_a_gathered_label_that_is_no_class_or_missing_is_refused() -> None:
    labels = pd.Series(pd.Categorical(["a", "b", None, "a"]))
    with pytest.raises(KeyError, match="b"):
        class_codes(labels, ["a"])
    with pytest.raises(KeyError):
        class_codes(labels, ["a", "b"])
