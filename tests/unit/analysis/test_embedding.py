"""Known answers for the verification maths (dlkit.analysis.embedding), worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis import embedding as emb

# four points on a line: identities a, a, b, b at 0, 1, 3, 5 (squared distances by hand)
LINE = np.array([[0.0], [1.0], [3.0], [5.0]])
IDS = np.array([0, 0, 1, 1])


def test_squared_distances_on_a_line() -> None:
    d = emb.squared_distances(LINE)
    assert d[0].tolist() == [0, 1, 9, 25]
    assert d[2].tolist() == [9, 4, 0, 4]
    assert np.allclose(d, d.T)


def test_semi_hard_triplet_loss_by_hand() -> None:
    # anchor-positive pairs (squared d_ap) and their mined negatives, margin 1:
    #  0-1 (1): negatives 9, 25 -> semi-hard 9 -> max(1 - 9 + 1, 0) = 0
    #  1-0 (1): negatives 4, 16 -> 4 -> 0
    #  2-3 (4): negatives 9, 4 -> none farther than 4 -> the farthest, 9 -> max(4 - 9 + 1, 0) = 0
    #  3-2 (4): negatives 25, 16 -> 16 -> 0
    assert emb.triplet_loss(LINE, IDS, margin=1.0) == 0.0
    # margin 6: 0-1: 1-9+6 = -2 -> 0; 1-0: 1-4+6 = 3; 2-3: 4-9+6 = 1; 3-2: 4-16+6 = -6 -> 0
    assert emb.triplet_loss(LINE, IDS, margin=6.0) == pytest.approx((0 + 3 + 1 + 0) / 4)


def test_hard_triplet_loss_by_hand() -> None:
    # per anchor: farthest positive against closest negative, margin 1
    #  0: 1 - 9 + 1 -> 0;  1: 1 - 4 + 1 -> 0;  2: 4 - 4 + 1 = 1;  3: 4 - 16 + 1 -> 0
    assert emb.triplet_loss(LINE, IDS, margin=1.0, mining="hard") == pytest.approx(0.25)


def test_triplet_loss_without_positive_pairs_is_zero() -> None:
    assert emb.triplet_loss(LINE, np.arange(4)) == 0.0


def test_pairs_every_positive_and_as_many_seeded_negatives() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2])
    pairs = emb.verification_pairs(labels, seed=3)
    positives = {(int(i), int(j)) for i, j, s in zip(pairs.first, pairs.second, pairs.same, strict=True) if s}
    assert positives == {(0, 1), (0, 2), (1, 2), (3, 4)}
    assert (~pairs.same).sum() == 4
    assert all(
        labels[i] != labels[j]
        for i, j in zip(pairs.first[~pairs.same], pairs.second[~pairs.same], strict=True)
    )
    again = emb.verification_pairs(labels, seed=3)
    assert np.array_equal(pairs.first, again.first) and np.array_equal(pairs.second, again.second)


def test_threshold_accuracy_and_auc_by_hand() -> None:
    distances = np.array([0.1, 0.4, 0.5, 0.3, 0.9, 1.2])
    same = np.array([True, True, True, False, False, False])
    # cuts midway between sorted distances: 0.2 (4/6 right), 0.35 (3/6), 0.45 (4/6), 0.7 (5/6),
    # 1.05 (4/6): the best is 0.7
    tau = emb.choose_threshold(distances, same)
    assert tau == pytest.approx(0.7)
    scores = emb.verification_scores(distances, same, 0.7)
    assert scores["verification_accuracy"] == pytest.approx(5 / 6)
    assert scores["false_accept_rate"] == pytest.approx(1 / 3)  # 0.3 accepted
    assert scores["false_reject_rate"] == 0.0
    # positives 0.1, 0.4, 0.5 against negatives 0.3, 0.9, 1.2: 3 + 2 + 2 of 9 orderings right
    assert scores["roc_auc"] == pytest.approx(7 / 9)


def test_nearest_and_hardest_pairs() -> None:
    near = emb.nearest(LINE, IDS)
    assert near.index.tolist() == [1, 0, 1, 2]
    assert near.distance.tolist() == [1, 1, 2, 2]
    assert near.positive_distance.tolist() == [1, 1, 2, 2]
    assert near.negative_distance.tolist() == [3, 2, 2, 4]


def test_l1_distances_and_the_pair_classifier_by_hand() -> None:
    # a pair classifier's weighted embeddings: L1 distance, probability σ(β − distance)
    g = np.array([[0.0, 0.0], [1.0, -2.0], [3.0, 1.0]])
    d = emb.distance_matrix(g, "l1")
    assert d[0].tolist() == [0, 3, 4] and d[1].tolist() == [3, 0, 5]
    pairs = emb.Pairs(np.array([0, 1]), np.array([2, 2]), np.array([False, True]))
    assert emb.pair_distances(g, pairs, "l1").tolist() == [4, 5]
    assert emb.same_probability(np.array([emb.PAIR_BIAS]))[0] == pytest.approx(0.5)
    near = emb.nearest(g, np.array([0, 0, 1]), "l1")
    assert near.index.tolist() == [1, 0, 0] and near.negative_distance.tolist() == [4, 5, 4]


def test_pair_loss_by_hand() -> None:
    # identities a, a, b at 0, 1, 3 on a line, β = 4: the same pair (0, 1) at distance 1 has logit
    # 3; the different pairs (0, 2) and (1, 2) at 3 and 2 have logits 1 and 2
    line = np.array([[0.0], [1.0], [3.0]])
    same = np.log1p(np.exp(-3.0))  # -log σ(3)
    different = (np.log1p(np.exp(1.0)) + np.log1p(np.exp(2.0))) / 2  # -log(1 - σ(z)), averaged
    assert emb.pair_loss(line, np.array([0, 0, 1]), 4.0) == pytest.approx((same + different) / 2)
    # only different pairs: their mean alone
    assert emb.pair_loss(line, np.array([0, 1, 2]), 4.0) == pytest.approx(
        np.mean(np.log1p(np.exp(4.0 - np.array([1.0, 3.0, 2.0]))))
    )
