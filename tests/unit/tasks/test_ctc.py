"""Task ctc: the collapse rule, the CTC loss and decoding on tiny inputs, edit distance and scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlkit.tasks.ctc import beam_decode, collapse, ctc_scores, edit_distance, greedy_decode


def test_collapse_merges_repeats_then_drops_blanks() -> None:
    assert "".join(collapse("ttt_h_eee", blank="_")) == "the"
    assert "".join(collapse("l_l", blank="_")) == "ll"  # a blank keeps a doubled letter
    assert "".join(collapse("ll", blank="_")) == "l"
    assert collapse([0, 0, 3, 3, 0, 3, 5], blank=0) == [3, 3, 5]
    assert collapse([], blank=0) == []


def _probs(rows: list[list[float]]) -> np.ndarray:
    return np.asarray([rows], dtype="float32")


def test_ctc_loss_sums_the_alignments() -> None:
    import keras

    from dlkit.models.layers import CTCLoss

    # two steps over (blank, a): "a" is read from (a, a), (a, blank) and (blank, a)
    probs = _probs([[0.4, 0.6], [0.4, 0.6]])
    expected = -math.log(0.6 * 0.6 + 0.6 * 0.4 + 0.4 * 0.6)
    loss = CTCLoss(reduction=None)(np.array([[1]]), probs)
    assert float(keras.ops.convert_to_numpy(loss)[0]) == pytest.approx(expected, rel=1e-5)
    # "aa" in three steps has one alignment, (a, blank, a); padding (0) is not part of the label
    probs = _probs([[0.2, 0.8], [0.7, 0.3], [0.1, 0.9]])
    loss = CTCLoss(reduction=None)(np.array([[1, 1, 0]]), probs)
    assert float(keras.ops.convert_to_numpy(loss)[0]) == pytest.approx(-math.log(0.8 * 0.7 * 0.9), rel=1e-5)


def test_greedy_and_beam_decoding() -> None:
    # steps over (blank, a, b): the best path is a a blank b -> "ab"
    probs = _probs([[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    assert greedy_decode(probs) == [[1, 2]]
    assert beam_decode(probs, beam_width=4) == [[1, 2]]
    # beam search sums the paths of a string: "a" beats the best path's blanks
    # (0.6 * 0.6 = 0.36 of "" against 0.4 * 0.6 + 0.6 * 0.4 + 0.4 * 0.4 = 0.64 of "a")
    probs = _probs([[0.6, 0.4], [0.6, 0.4]])
    assert greedy_decode(probs) == [[]]
    assert beam_decode(probs, beam_width=4) == [[1]]


def test_edit_distance_and_character_error_rate() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3
    scores = ctc_scores(["123", "45", ""], ["123", "456", "78"])
    # edits 0 + 1 + 2 over 3 + 3 + 2 reference characters, pooled
    assert scores["cer"] == pytest.approx(3 / 8)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["error"] == pytest.approx(2 / 3)


def test_the_float64_forward_algorithm_equals_keras_ctc_loss() -> None:
    import keras

    from dlkit.models.layers import CTCLoss, ctc_forward

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(3, 7)).astype("float64")
    labels = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0]])  # a repeat needs a blank between
    expected = keras.ops.convert_to_numpy(CTCLoss(reduction=None)(labels, probs.astype("float32")))
    got = keras.ops.convert_to_numpy(ctc_forward(labels, keras.ops.convert_to_tensor(np.log(probs))))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    in_float64 = CTCLoss(reduction=None, dtype="float64")(labels, probs)
    assert keras.ops.convert_to_numpy(in_float64).dtype == np.float64
