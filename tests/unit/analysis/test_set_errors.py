"""Per-set errors from per-example errors, and the fixed train subsample."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.bias_variance import diagnose_errors, wilson_interval
from dlkit.analysis.set_errors import errors_from_examples, train_subsample


def _mistakes(n: int, n_wrong: int) -> np.ndarray:
    wrong = np.zeros(n, dtype=bool)
    wrong[:n_wrong] = True
    return wrong


def test_mistakes_give_an_error_rate_with_a_wilson_interval():
    sets = errors_from_examples({"train": _mistakes(100, 5), "dev": _mistakes(100, 12)})
    assert sets["train"].error == pytest.approx(0.05)
    assert sets["dev"].error == pytest.approx(0.12)
    assert sets["dev"].n_errors == 12 and sets["dev"].kind == "proportion"
    assert (sets["dev"].low, sets["dev"].high) == pytest.approx(wilson_interval(12, 100))


def test_losses_give_their_mean_with_a_normal_interval():
    losses = np.array([1.0, 0.0, 4.0, 0.0])
    sets = errors_from_examples({"train": losses, "dev": losses})
    assert sets["dev"].error == pytest.approx(5 / 4)
    assert sets["dev"].kind == "mean"
    half = 1.959964 * losses.std(ddof=1) / 2
    assert (sets["dev"].low, sets["dev"].high) == pytest.approx((1.25 - half, 1.25 + half), rel=1e-5)


def test_train_larger_than_twice_dev_is_subsampled_to_dev_size_with_a_fixed_seed():
    train = _mistakes(10_000, 1_000)
    sets = errors_from_examples({"train": train, "dev": _mistakes(500, 50)})
    again = errors_from_examples({"train": train, "dev": _mistakes(500, 50)})
    assert sets["train"].n == 500 and sets["train"].n_total == 10_000
    assert sets["train"].error == again["train"].error
    assert abs(sets["train"].error - 0.10) < 0.04
    rows = train_subsample(10_000, 500)
    assert rows is not None and len(set(rows.tolist())) == 500


def test_train_close_to_dev_size_is_used_whole():
    assert train_subsample(1000, 500) is None
    sets = errors_from_examples({"train": _mistakes(900, 9), "dev": _mistakes(500, 50)})
    assert sets["train"].n == 900 and sets["train"].n_total is None


def test_sets_come_in_methodology_order_and_an_empty_set_is_refused():
    sets = errors_from_examples(
        {"dev": _mistakes(10, 1), "test": _mistakes(10, 2), "train": _mistakes(10, 0)}
    )
    assert list(sets) == ["train", "dev", "test"]
    with pytest.raises(ValueError, match="dev: no examples"):
        errors_from_examples({"train": _mistakes(10, 1), "dev": _mistakes(0, 0)})


def test_errors_from_examples_give_the_methodology_reading():
    # docs/method.md §2 row 4 from per-example mistakes: human 0, train 1, train-dev 1.5, dev 10 (%)
    n = 20_000
    errors = {"train": _mistakes(n, 200), "train_dev": _mistakes(n, 300), "dev": _mistakes(n, 2000)}
    r = diagnose_errors(errors_from_examples(errors), human_error=0.0)
    assert r.verdict == "data_mismatch"
    assert r.gap("data_mismatch").value == pytest.approx(0.085)
