"""Debiasing word vectors: known answers on hand-made vectors (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.debias import bias_direction, debias, equalize, neutralize, projection, unit_rows
from dlkit.errors import DataError

E = np.eye(4)


def test_bias_direction_of_three_pairs_is_their_common_axis_oriented_to_the_first_words() -> None:
    # three pairs at ±t on axis 0 around different meanings orthogonal to it
    meanings = [E[1], E[2], 0.6 * E[1] + 0.8 * E[3]]
    first = np.stack([m + t * E[0] for m, t in zip(meanings, (0.5, 0.7, 0.3), strict=True)])
    second = np.stack([m - t * E[0] for m, t in zip(meanings, (0.5, 0.7, 0.3), strict=True)])
    g, explained = bias_direction(first, second)
    np.testing.assert_allclose(g, E[0], atol=1e-12)
    assert explained == pytest.approx(1.0)
    g_swapped, _ = bias_direction(second, first)
    np.testing.assert_allclose(g_swapped, -E[0], atol=1e-12)


def test_bias_direction_of_pairs_that_disagree_explains_a_known_share() -> None:
    # differences 2·E0 and 2·E1: two directions of equal weight, 50% each
    g, explained = bias_direction(np.stack([E[0], E[1]]), np.stack([-E[0], -E[1]]))
    assert explained == pytest.approx(0.5)
    assert np.linalg.norm(g) == pytest.approx(1.0)


def test_neutralize_leaves_no_projection_and_keeps_the_rest() -> None:
    g = np.array([2.0, 0.0, 0.0, 0.0])  # not unit: the formula divides by ‖g‖²
    e = np.array([0.3, -0.4, 0.5, 0.1])
    out = neutralize(e, g)
    assert projection(out, g) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(out, [0.0, -0.4, 0.5, 0.1])
    # a slanted direction: the component along it goes, nothing else
    g2 = np.array([1.0, 1.0, 0.0, 0.0])
    rows = neutralize(np.stack([e, 2 * e]), g2)
    np.testing.assert_allclose(rows @ g2, 0.0, atol=1e-15)
    np.testing.assert_allclose(rows[0], [0.35, -0.35, 0.5, 0.1])


def test_equalize_makes_the_pair_symmetric_and_equally_far_from_a_neutral_word() -> None:
    g = E[0] - 0.5 * E[1]
    w1, w2 = unit_rows(np.array([[0.9, 0.3, 0.2, 0.1], [-0.4, 0.5, 0.6, 0.2]]))
    e1, e2 = equalize(w1, w2, g)
    # the same part orthogonal to g (μ⊥), opposite projections on g
    np.testing.assert_allclose(neutralize(e1, g), neutralize(e2, g), atol=1e-12)
    assert projection(e1, g) == pytest.approx(-projection(e2, g))
    mu = (w1 + w2) / 2
    np.testing.assert_allclose(neutralize(e1, g), neutralize(mu, g), atol=1e-12)
    # the course's formula: the projection's length is sqrt(1 - ‖μ⊥‖²) · |e_w1B − μ_B| / ‖e_w1 − μ‖
    mu_orth = neutralize(mu, g)
    ghat = g / np.linalg.norm(g)
    expected = np.sqrt(1 - mu_orth @ mu_orth) * ((w1 - w2) @ ghat / 2) / np.linalg.norm(w1 - mu)
    assert projection(e1, g) == pytest.approx(expected)
    for word in (E[2], E[3], unit_rows(np.array([0.2, 0.4, -0.7, 0.5]))):
        neutral = neutralize(word, g)
        assert np.linalg.norm(e1 - neutral) == pytest.approx(np.linalg.norm(e2 - neutral))
        assert e1 @ neutral == pytest.approx(e2 @ neutral)


def _words() -> tuple[list[str], np.ndarray]:
    meaning = {"a": E[1], "b": E[2], "c": 0.6 * E[2] + 0.8 * E[3]}
    words, rows = [], []
    for name, m in meaning.items():
        words += [f"{name}+", f"{name}-"]
        rows += [m + 0.5 * E[0], m - 0.5 * E[0]]
    words += ["nurse", "engineer", "tree", "king", "queen"]
    rows += [
        E[0] + E[1],  # projection 1/√2 after normalising
        -0.5 * E[0] + E[3],
        2 * E[2],  # already neutral; length 2 becomes 1
        -0.4 * E[0] + E[1] + 0.3 * E[3],
        0.8 * E[0] + E[1] + 0.2 * E[2],
    ]
    return words, np.stack(rows)


def test_debias_neutralises_every_word_in_no_pair_and_equalises_the_pairs() -> None:
    words, vectors = _words()
    result = debias(words, vectors, [("a+", "a-"), ("b+", "b-"), ("c+", "c-")], [("queen", "king")])
    np.testing.assert_allclose(result.direction, E[0], atol=1e-12)
    assert result.explained == pytest.approx(1.0)
    assert result.pair == ("a+", "a-") and result.pair_cosine == pytest.approx(1.0)
    t = result.table.set_index("word")
    assert t.loc["nurse", "before"] == pytest.approx(1 / np.sqrt(2))
    assert t.loc["engineer", "before"] == pytest.approx(-0.5 / np.sqrt(1.25))
    assert list(t.loc[["nurse", "engineer", "tree"], "role"]) == ["neutralized"] * 3
    np.testing.assert_allclose(t.loc[["nurse", "engineer", "tree"], "after"], 0.0, atol=1e-12)
    assert t.loc["queen", "role"] == "equalized" and t.loc["queen", "pair"] == "king"
    assert t.loc["queen", "after"] == pytest.approx(-t.loc["king", "after"])
    assert t.loc["a+", "role"] == "definitional" and t.loc["a+", "after"] == t.loc["a+", "before"]
    assert result.counts() == {"definitional": 6, "equalized": 2, "neutralized": 3, "kept": 0}
    v = dict(zip(result.words, result.vectors, strict=True))
    np.testing.assert_allclose(np.linalg.norm(v["tree"]), 1.0)  # normalised first
    for word in ("nurse", "engineer", "tree"):
        assert np.linalg.norm(v["queen"] - v[word]) == pytest.approx(np.linalg.norm(v["king"] - v[word]))
    assert [r["word"] for r in result.largest(2)] == ["nurse", "engineer"]


def test_debias_neutralises_only_the_listed_words() -> None:
    words, vectors = _words()
    result = debias(words, vectors, [("a+", "a-")], neutralize_words=["nurse"])
    t = result.table.set_index("word")
    assert t.loc["nurse", "after"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["engineer", "role"] == "kept"
    assert t.loc["engineer", "after"] == pytest.approx(t.loc["engineer", "before"])


@pytest.mark.parametrize(
    ("definitional", "equalize_pairs", "neutral", "message"),
    [
        ([("a+", "x")], [], None, "definitional pair 'a+ x': 'x' is not in the vectors"),
        ([("a+", "a+")], [], None, "definitional pair 'a+ a+': the two words must differ"),
        ([], [], None, "no definitional pairs"),
        (
            [("a+", "a-")],
            [("queen", "king"), ("king", "nurse")],
            None,
            "equalize pair 'king nurse': 'king' is already in the pair with 'queen'",
        ),
        (
            [("a+", "a-")],
            [("queen", "king")],
            ["king"],
            "neutralize word 'king' is also in the equalize pair",
        ),
        ([("a+", "a-")], [], ["a-"], "neutralize word 'a-' is also in a definitional pair"),
        ([("a+", "a-")], [], ["zebra"], "neutralize word: 'zebra' is not in the vectors"),
    ],
)
def test_debias_refuses_bad_lists_in_one_line(definitional, equalize_pairs, neutral, message) -> None:
    words, vectors = _words()
    with pytest.raises(DataError) as info:
        debias(words, vectors, definitional, equalize_pairs, neutral)
    assert info.value.message.startswith(message)
