"""The Keras triplet loss against the NumPy reference and a hand-worked batch."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.embedding import triplet_loss


@pytest.mark.parametrize("mining", ["semi_hard", "hard"])
def test_keras_triplet_loss_matches_the_reference(mining: str) -> None:
    from dlkit.models.losses import TripletLoss

    rng = np.random.default_rng(0)
    e = rng.normal(size=(12, 4)).astype("float32")
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    y = rng.integers(0, 3, size=12)
    for margin in (0.2, 1.0):
        got = float(TripletLoss(margin, mining)(y, e))
        assert got == pytest.approx(triplet_loss(e, y, margin, mining), rel=1e-4, abs=1e-6)


def test_keras_triplet_loss_by_hand() -> None:
    from dlkit.models.losses import TripletLoss

    # identities a, a, b, b at 0, 1, 3, 5 on a line (tests/unit/analysis/test_embedding.py)
    line = np.array([[0.0], [1.0], [3.0], [5.0]], dtype="float32")
    assert float(TripletLoss(6.0)(np.array([0, 0, 1, 1]), line)) == pytest.approx(1.0)
    assert float(TripletLoss(1.0, "hard")(np.array([0, 0, 1, 1]), line)) == pytest.approx(0.25)
    assert float(TripletLoss(1.0)(np.arange(4), line)) == 0.0  # no positive pair


def test_triplet_loss_round_trips_through_its_config() -> None:
    from dlkit.models.losses import TripletLoss

    loss = TripletLoss.from_config(TripletLoss(0.3, "hard").get_config())
    assert (loss.margin, loss.mining) == (0.3, "hard")


def test_keras_pair_loss_matches_the_reference() -> None:
    from dlkit.analysis.embedding import pair_loss
    from dlkit.models.losses import PairLoss

    rng = np.random.default_rng(1)
    g = rng.normal(size=(12, 5)).astype("float32")
    for y in (rng.integers(0, 3, size=12), np.arange(12)):  # with same pairs, and without
        got = float(PairLoss(4.0)(y, g))
        assert got == pytest.approx(pair_loss(g, y, 4.0), rel=1e-4)
    loss = PairLoss.from_config(PairLoss(2.5).get_config())
    assert loss.bias == 2.5
