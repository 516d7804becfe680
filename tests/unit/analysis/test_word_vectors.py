"""Known answers for the word-vector maths (dlkit.analysis.word_vectors), worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis import word_vectors as wv
from dlkit.errors import DataError

# "the" 4 times, "cat" twice, "sat" and "mat" once
TINY = [["the", "cat", "sat"], ["the", "cat"], ["the", "mat", "the"]]


def test_the_vocabulary_is_most_frequent_first_and_min_count_drops_rare_words() -> None:
    vocab = wv.count_words(TINY)
    assert vocab.words == ["the", "cat", "mat", "sat"]  # ties alphabetical
    assert vocab.counts.tolist() == [4, 2, 1, 1]
    assert wv.count_words(TINY, min_count=2).words == ["the", "cat"]
    assert [s.tolist() for s in vocab.encode([["the", "dog", "sat"]])] == [[0, 3]]


def test_unigram_table_is_counts_to_the_three_quarters_normalised() -> None:
    p = wv.unigram_distribution(np.array([4, 2, 1, 1]))
    # 4^0.75 = 2.828427, 2^0.75 = 1.681793, 1, 1: sum 6.510220
    np.testing.assert_allclose(
        p, [2.828427 / 6.510220, 1.681793 / 6.510220, 1 / 6.510220, 1 / 6.510220], rtol=1e-6
    )
    assert p.sum() == pytest.approx(1.0)
    # flatter than the unigram distribution itself: the rare words gain
    assert p[2] > 1 / 8 and p[0] < 4 / 8


def test_subsampling_keeps_frequent_words_with_sqrt_t_over_f() -> None:
    keep = wv.keep_probabilities(np.array([6, 2, 1, 1]), threshold=0.1)
    # shares 0.6, 0.2, 0.1, 0.1: sqrt(0.1/0.6), sqrt(0.1/0.2), then capped at 1
    np.testing.assert_allclose(keep, [np.sqrt(1 / 6), np.sqrt(0.5), 1.0, 1.0])
    assert wv.keep_probabilities(np.array([6, 2]), threshold=0).tolist() == [1.0, 1.0]
    rng = np.random.default_rng(0)
    sentences = [np.zeros(1000, dtype=np.int64), np.ones(1000, dtype=np.int64)]
    kept = wv.subsample(sentences, np.array([0.25, 1.0]), rng)
    assert len(kept[0]) == pytest.approx(250, abs=40) and len(kept[1]) == 1000


def test_skipgram_pairs_of_a_window() -> None:
    centres, contexts = wv.skipgram_pairs([np.array([10, 11, 12]), np.array([7])], window=1)
    assert list(zip(centres.tolist(), contexts.tolist(), strict=True)) == [
        (10, 11),
        (11, 10),
        (11, 12),
        (12, 11),
    ]
    centres, contexts = wv.skipgram_pairs([np.array([10, 11, 12])], window=2)
    assert list(zip(centres.tolist(), contexts.tolist(), strict=True)) == [
        (10, 11), (10, 12), (11, 10), (11, 12), (12, 10), (12, 11),
    ]  # fmt: skip


def test_negative_sampling_targets_and_draws_follow_the_table() -> None:
    table = wv.unigram_distribution(np.array([4, 2, 1, 1]))
    centres, contexts = np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1])
    examples = wv.negative_sampling_examples(centres, contexts, 2, table, np.random.default_rng(0))
    assert examples.contexts.shape == (4, 3) and examples.targets.shape == (4, 3)
    assert examples.targets.tolist() == [[1.0, 0.0, 0.0]] * 4
    assert examples.contexts[:, 0].tolist() == [1, 0, 2, 1]  # the observed context first
    assert examples.centres.tolist() == [0, 1, 1, 2]
    many = wv.negative_sampling_examples(
        np.zeros(20000, np.int64), np.zeros(20000, np.int64), 5, table, np.random.default_rng(1)
    )
    share = np.bincount(many.contexts[:, 1:].ravel(), minlength=4) / many.contexts[:, 1:].size
    np.testing.assert_allclose(share, table, atol=0.01)


def test_cooccurrence_counts_weigh_a_pair_by_one_over_its_distance() -> None:
    co = wv.cooccurrences([np.array([0, 1, 2]), np.array([0, 1])], window=2, vocab_size=3)
    x = np.zeros((3, 3))
    x[co.rows, co.cols] = co.counts
    # 0-1 adjacent twice (2), 1-2 adjacent once (1), 0-2 at distance 2 once (1/2); symmetric
    np.testing.assert_allclose(x, [[0, 2, 0.5], [2, 0, 1], [0.5, 1, 0]])
    assert wv.cooccurrences([np.array([0, 1, 2])], window=1, vocab_size=3).counts.tolist() == [1, 1, 1, 1]


def test_glove_weighting_function() -> None:
    f = wv.glove_weight(np.array([0.0, 1.0, 50.0, 99.0, 100.0, 1000.0]))
    np.testing.assert_allclose(f, [0.0, 0.01**0.75, 0.5**0.75, 0.99**0.75, 1.0, 1.0])
    assert f[1] == pytest.approx(0.0316228, rel=1e-6) and f[2] == pytest.approx(0.5946036, rel=1e-6)
    assert wv.glove_weight(10.0, x_max=10.0, alpha=0.5) == 1.0
    assert wv.glove_weight(2.5, x_max=10.0, alpha=0.5) == pytest.approx(0.5)


def test_glove_cost_by_hand() -> None:
    co = wv.Cooccurrences(np.array([0, 1]), np.array([1, 0]), np.array([100.0, 50.0]))
    w, wt = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    b, bt = np.array([0.5, 0.0]), np.array([0.0, 0.0])
    # (0,1): w0.wt1 = 1, + b0 0.5 -> 1.5 - log 100, weight 1; (1,0): w1.wt0 = 2 -> 2 - log 50, weight 0.5^0.75
    expected = (1.5 - np.log(100)) ** 2 + 0.5**0.75 * (2 - np.log(50)) ** 2
    assert wv.glove_cost(w, wt, b, bt, co) == pytest.approx(expected)


# hand-made unit vectors: queen = woman - man + king exactly (up to scale)
HAND = wv.WordVectors(
    ["man", "woman", "king", "queen", "apple"],
    np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 1.0, 1.0],
            [1.0, 0.0, 1.0],
        ]
    ),
)


def test_cosine_similarity_by_hand() -> None:
    sims = wv.cosine_similarities(HAND.matrix, np.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(sims, [0.0, 1 / np.sqrt(2), 1 / np.sqrt(2), 1.0, 0.5])
    assert wv.cosine_similarities(np.zeros((1, 3)), np.ones(3)).tolist() == [0.0]


def test_neighbors_exclude_the_word_itself() -> None:
    found = wv.neighbors(HAND, "queen", k=3)
    assert [n.word for n in found] == ["woman", "king", "apple"]  # ties keep file order
    assert found[0].similarity == pytest.approx(1 / np.sqrt(2)) and found[2].similarity == pytest.approx(0.5)


def test_analogy_is_the_word_nearest_b_minus_a_plus_c_without_the_query_words() -> None:
    found = wv.analogy(HAND, "man", "woman", "king", k=5)
    # target (-1, 1, 1): queen 2/(sqrt 3 sqrt 2), apple 0; man, woman and king are left out
    assert [n.word for n in found] == ["queen", "apple"]
    assert found[0].similarity == pytest.approx(2 / np.sqrt(6))
    assert found[1].similarity == pytest.approx(0.0)
    with pytest.raises(DataError, match=r"^v.txt: 'zebra' is not in the vocabulary \(5 words\)$"):
        wv.analogy(HAND, "man", "zebra", "king", source="v.txt")


def test_analogy_accuracy_and_coverage() -> None:
    lines = [": royal", "man woman king queen", "woman man queen king", "", ": fruit", "man apple king zebra"]
    scores = wv.evaluate_analogies(HAND, wv.parse_analogies(lines, "q.txt"))
    # the second: man - woman + queen/sqrt 2 = (1, -0.29, 0.71): apple (1, 0, 1) is nearer than king
    assert [(s.section, s.correct, s.answered, s.n_questions) for s in scores.sections] == [
        ("royal", 1, 2, 2),
        ("fruit", 0, 0, 1),
    ]
    assert scores.accuracy == 0.5 and scores.skipped == 1 and scores.coverage == pytest.approx(2 / 3)
    assert scores.wrong == [("woman", "man", "queen", "king", "apple")]
    assert np.isnan(scores.sections[1].accuracy)


def test_malformed_question_and_pair_lines_name_the_line() -> None:
    with pytest.raises(
        DataError, match=r"^q.txt: line 2: expected four words 'a b c d' or a ': section' line"
    ):
        wv.parse_analogies([": s", "a b c"], "q.txt")
    with pytest.raises(DataError, match=r"^q.txt: no analogy questions"):
        wv.parse_analogies([": only a section"], "q.txt")
    with pytest.raises(DataError, match=r"^s.txt: line 3: expected 'word word score' \(got 'a b high'\)$"):
        wv.parse_similarities(["# comment", "a b 1", "a b high"], "s.txt")


def test_similarity_correlation_is_spearman_over_covered_pairs() -> None:
    pairs = wv.parse_similarities(["queen woman 3", "queen apple 2", "queen man 1", "queen zebra 9"], "s")
    # cosines 0.707, 0.5, 0: the same order as the scores -> rho 1; zebra skipped
    score = wv.similarity_correlation(HAND, pairs)
    assert score.spearman == pytest.approx(1.0) and score.answered == 3 and score.n_pairs == 4
    reversed_pairs = wv.parse_similarities(["queen woman 1", "queen apple 2", "queen man 3"], "s")
    assert wv.similarity_correlation(HAND, reversed_pairs).spearman == pytest.approx(-1.0)


def test_pca_of_points_on_a_line() -> None:
    t = np.array([-1.0, 0.0, 1.0, 2.0])
    points = np.stack([t, 2 * t, np.zeros(4)], axis=1) + 5.0
    xy = wv.project_2d(points)
    # centred t is (-1.5, -0.5, 0.5, 1.5); the first component (1, 2, 0)/sqrt 5, sign positive
    np.testing.assert_allclose(xy[:, 0], (t - 0.5) * np.sqrt(5), atol=1e-9)
    np.testing.assert_allclose(xy[:, 1], 0.0, atol=1e-9)
