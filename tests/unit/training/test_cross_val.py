"""K-fold assignment and the pool of examples judged out of sample (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.errors import RecipeError
from dlkit.training.cross_val import fold_assignment, pool_indices


def test_folds_are_stratified_seeded_and_cover_every_example():
    labels = np.repeat([0, 1, 2], [30, 60, 90])
    folds = fold_assignment(labels, 3, seed=0)
    assert sorted(np.unique(folds)) == [0, 1, 2]
    for k in range(3):
        # each class split evenly over the folds
        assert np.bincount(labels[folds == k], minlength=3).tolist() == [10, 20, 30]
    assert np.array_equal(folds, fold_assignment(labels, 3, seed=0))
    assert not np.array_equal(folds, fold_assignment(labels, 3, seed=1))


def test_a_class_smaller_than_k_falls_back_to_plain_folds():
    labels = np.array([0] * 20 + [1])
    folds = fold_assignment(labels, 5, seed=0)
    assert np.bincount(folds).tolist() == [5, 4, 4, 4, 4]


@pytest.mark.parametrize(
    ("k", "message"), [(1, r"at least 2 folds \(got 1\)"), (9, "9 folds for 4 examples")]
)
def test_bad_k_is_a_usage_error(k, message):
    with pytest.raises(RecipeError, match=message):
        fold_assignment(np.array([0, 1, 0, 1]), k, seed=0)


def test_pool_is_the_judged_sets_and_train_always_trains_unless_judged():
    sets = np.array(["train", "dev", "test", "train", "train_dev", "dev"], dtype=object)
    pool, always = pool_indices(sets, ["dev", "test"])
    assert pool.tolist() == [1, 2, 5] and always.tolist() == [0, 3]
    pool, always = pool_indices(sets, ["train", "dev"])
    assert pool.tolist() == [0, 1, 3, 5] and always.tolist() == []
