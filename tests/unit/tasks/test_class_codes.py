"""Labels to class numbers: by text, once per distinct label, the same as one label at a time."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.tasks._classes import class_codes


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
