"""Verification's set scores at scale: the same answers as their definitions, in bounded memory.

Each function is checked against its definition written out plainly here (every pair of the set,
every positive against every negative, every candidate τ tried, the whole distance table): on
random sets with ties, string identities and several row blocks, the answers are the same. Then
sets far larger than those definitions could hold are scored within a memory bound.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from dlkit.analysis import embedding as emb


def pairs_by_definition(labels: np.ndarray, seed: int, per_positive: int) -> emb.Pairs:
    """Every pair i < j of the set in row order; the positives, then a seeded sample of negatives."""
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    n_neg = min(len(neg), max(1, per_positive * len(pos)))
    if len(neg):
        neg = np.sort(np.random.default_rng(seed).choice(neg, size=n_neg, replace=False))
    keep = np.concatenate([pos, neg])
    return emb.Pairs(i[keep], j[keep], same[keep])


def threshold_by_definition(d: np.ndarray, same: np.ndarray) -> float:
    values = np.unique(d)
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    return float(candidates[int(np.argmax([((d <= t) == same).mean() for t in candidates]))])


def auc_by_definition(d: np.ndarray, same: np.ndarray) -> float:
    pos, neg = d[same], d[~same]
    closer = (pos[:, None] < neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(closer / (len(pos) * len(neg)))


def nearest_by_definition(e: np.ndarray, labels: np.ndarray, metric: str) -> tuple[np.ndarray, ...]:
    d = emb.distance_matrix(e, metric)  # type: ignore[arg-type]
    eye = np.eye(len(labels), dtype=bool)
    same = labels[:, None] == labels[None, :]
    others = np.where(eye, np.inf, d)
    positive = np.where(same & ~eye, d, -np.inf).max(axis=1)
    negative = np.where(~same, d, np.inf).min(axis=1)
    return others.argmin(axis=1), others.min(axis=1), positive, negative


def random_set(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(2, 90))
    labels = rng.integers(0, int(rng.integers(1, 12)), n)
    if k % 3 == 0:
        labels = np.array([f"person-{v}" for v in labels])
    dims = int(rng.integers(1, 6))
    # half the sets on a coarse grid: tied distances, tied nearest neighbours
    e = rng.integers(-2, 3, (n, dims)) / 2.0 if k % 2 else rng.normal(size=(n, dims))
    return labels, e


@pytest.mark.parametrize("k", range(40))
def test_pairs_threshold_and_auc_are_their_definitions(k: int) -> None:
    rng = np.random.default_rng(k)
    labels, _ = random_set(rng, k)
    per_positive = int(rng.integers(1, 4))
    pairs, expected = (
        emb.verification_pairs(labels, k, per_positive),
        pairs_by_definition(labels, k, per_positive),
    )
    for got, want in zip(
        (pairs.first, pairs.second, pairs.same), (expected.first, expected.second, expected.same), strict=True
    ):
        assert got.dtype == want.dtype
        assert np.array_equal(got, want)
    d = rng.integers(0, 5, len(pairs)) / 4.0 if k % 2 else rng.random(len(pairs))
    assert emb.choose_threshold(d, pairs.same) == threshold_by_definition(d, pairs.same)
    if pairs.same.any() and (~pairs.same).any():
        assert emb.roc_auc(d, pairs.same) == auc_by_definition(d, pairs.same)  # exact: counts over a product


@pytest.mark.parametrize("metric", ["euclidean", "l1"])
@pytest.mark.parametrize("k", range(20))
def test_nearest_over_row_blocks_is_its_definition(
    k: int, metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(100 + k)
    labels, e = random_set(rng, k)
    monkeypatch.setattr(emb, "BLOCK_BYTES", 8 * len(labels) * e.shape[1] * 7)  # blocks of 7 rows or more
    got = emb.nearest(e, labels, metric)  # type: ignore[arg-type]
    index, distance, positive, negative = nearest_by_definition(e, labels, metric)
    assert np.array_equal(got.index, index)
    # a block's matrix product may round differently from the whole table's in the last bit
    exact = {"rtol": 0, "atol": 0} if metric == "l1" else {"rtol": 0, "atol": 1e-12}
    assert np.allclose(got.distance, distance, **exact)
    assert np.allclose(
        got.positive_distance, np.where(np.isfinite(positive), positive, np.nan), equal_nan=True, **exact
    )
    assert np.allclose(
        got.negative_distance, np.where(np.isfinite(negative), negative, np.nan), equal_nan=True, **exact
    )


def test_pairs_of_one_identity_or_of_none() -> None:
    alone = emb.verification_pairs(np.array([7, 7, 7]))
    assert alone.same.all() and len(alone) == 3  # no negative to draw
    strangers = emb.verification_pairs(np.array([1, 2, 3]))
    assert len(strangers) == 1 and not strangers.same.any()  # one negative, as the definition draws
    for labels in (np.array([], dtype=int), np.array([4])):
        assert len(emb.verification_pairs(labels)) == 0
        near = emb.nearest(np.zeros((len(labels), 3)), labels)
        assert near.index.tolist() == [-1] * len(labels)


def traced_peak_mib(step) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_a_large_set_is_scored_in_bounded_memory() -> None:
    """12,000 examples, 10 per identity: 72 million pairs, about 54,000 of them positive. Holding
    every pair took over 1 GiB, the AUC's positives-by-negatives tables about 6 GB; the pairs kept
    here take under 3 MiB."""
    rng = np.random.default_rng(0)
    n = 12_000
    labels = rng.integers(0, n // 10, n)
    pairs = emb.verification_pairs(labels)
    assert traced_peak_mib(lambda: emb.verification_pairs(labels)) < 40
    positives = int(pairs.same.sum())
    assert positives == sum(c * (c - 1) // 2 for c in np.bincount(labels))
    assert len(pairs) == 2 * positives
    assert (labels[pairs.first] == labels[pairs.second]).tolist() == pairs.same.tolist()
    assert (pairs.first < pairs.second).all()
    d = rng.random(len(pairs)) + np.where(pairs.same, 0.0, 0.5)  # positives nearer on the whole
    assert traced_peak_mib(lambda: emb.choose_threshold(d, pairs.same)) < 40
    assert traced_peak_mib(lambda: emb.roc_auc(d, pairs.same)) < 40
    # uniform on [0, 1) against [0.5, 1.5): P(positive < negative) = 1 - 1/8
    assert emb.roc_auc(d, pairs.same) == pytest.approx(0.875, abs=0.01)


def test_nearest_of_a_large_set_holds_row_blocks_not_the_table() -> None:
    rng = np.random.default_rng(1)
    n = 6_000  # the whole table: 275 MiB, several of them at once before
    labels = rng.integers(0, n // 10, n)
    e = rng.normal(size=(n, 16))
    peak = traced_peak_mib(lambda: emb.nearest(e, labels))
    assert peak < 6 * emb.BLOCK_BYTES / 2**20
    near = emb.nearest(e[:500], labels[:500])
    index, *_ = nearest_by_definition(e[:500], labels[:500], "euclidean")
    assert np.array_equal(near.index, index)
