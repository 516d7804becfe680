"""Face verification and one-shot learning on embeddings: the pure NumPy reference.

An encoder maps each image to an L2-normalised embedding; two images show the same identity
when their distance is at most a threshold τ. This module holds what the task and the reports
compute from embeddings (no TensorFlow):

- :func:`squared_distances`: the pairwise squared L2 distances of a batch;
- :func:`triplet_loss`: the triplet loss ``max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)`` with
  the negatives mined within the batch, ``semi_hard`` (FaceNet: the closest negative still
  farther than the positive, else the farthest negative) or ``hard`` (per anchor its farthest
  positive against its closest negative);
- :func:`verification_pairs`: every positive pair of a set and a seeded sample of negatives;
- :func:`choose_threshold` and :func:`verification_scores`: τ that maximises pair accuracy,
  and accuracy and ROC AUC at a given τ;
- :func:`nearest`: each embedding's nearest other embedding (one-shot identification);
- :func:`pair_loss`: the binary cross-entropy of a pair classifier on every pair of a batch
  (verification trained on pairs instead of triplets).

Distances between two images are Euclidean (``‖a − b‖``, ``metric="euclidean"``); the loss works
on their squares, as the course writes it. A model trained as a pair classifier reads the
element-wise difference instead: ``ŷ = σ(β − Σ_k w_k·|f(x1)_k − f(x2)_k|)``, its learned weights
``w_k`` folded into the embedding's last layer, so its distance is the L1 distance
(``metric="l1"``) and the classifier's probability is ``σ(β − distance)`` (:func:`same_probability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dlkit._lazy import lazy_module
from dlkit.analysis.ranks import binary_auc

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")


Mining = Literal["semi_hard", "hard"]
Metric = Literal["euclidean", "l1"]
# β, the pair classifier's fixed bias: its weights are learned, so a fixed bias loses nothing
# but the scale of the logits (the decision is made at τ chosen on dev anyway)
PAIR_BIAS = 4.0
# the distances :func:`nearest` computes at once: a block of rows against the whole set
BLOCK_BYTES = 32 * 2**20


def squared_distances(embeddings: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
    """Pairwise squared L2 distances `(n, n)` of embeddings `(n, d)` (never below 0); ``rows``:
    those of these rows only, `(rows, n)`."""
    e = np.asarray(embeddings, dtype=np.float64)
    norms = (e**2).sum(axis=1)
    return np.maximum(norms[rows, None] + norms[None, :] - 2.0 * e[rows] @ e.T, 0.0)


def triplet_loss(
    embeddings: np.ndarray, labels: np.ndarray, margin: float = 0.2, mining: Mining = "semi_hard"
) -> float:
    """The triplet loss of one batch with in-batch mining (0 when it has no positive pair).

    Args:
        embeddings: `(n, d)`.
        labels: `(n,)` identity of each embedding.
        margin: α, how much farther the negative must be than the positive.
        mining: ``semi_hard``: for each anchor-positive pair the closest negative farther than
            the positive (the farthest negative when there is none), averaged over the pairs;
            ``hard``: for each anchor with a positive and a negative, its farthest positive
            against its closest negative, averaged over those anchors.
    """
    d = squared_distances(embeddings)
    y = np.asarray(labels).reshape(-1)
    same = y[:, None] == y[None, :]
    positive = same & ~np.eye(len(y), dtype=bool)
    negative = ~same
    losses: list[float] = []
    for a in range(len(y)):
        if not negative[a].any() or not positive[a].any():
            continue
        d_neg = d[a, negative[a]]
        if mining == "hard":
            losses.append(max(d[a, positive[a]].max() - d_neg.min() + margin, 0.0))
            continue
        for p in np.flatnonzero(positive[a]):
            farther = d_neg[d_neg > d[a, p]]
            chosen = farther.min() if len(farther) else d_neg.max()
            losses.append(max(d[a, p] - chosen + margin, 0.0))
    return float(np.mean(losses)) if losses else 0.0


def distance_matrix(
    embeddings: np.ndarray, metric: Metric = "euclidean", rows: slice = slice(None)
) -> np.ndarray:
    """Pairwise distances `(n, n)`: Euclidean, or L1 (a pair classifier's weighted difference);
    ``rows``: those of these rows only, `(rows, n)`."""
    e = np.asarray(embeddings, dtype=np.float64)
    if metric == "l1":
        return np.abs(e[rows, None, :] - e[None, :, :]).sum(axis=2)
    return np.sqrt(squared_distances(e, rows))


def same_probability(distances: np.ndarray) -> np.ndarray:
    """A pair classifier's probability that two images show one identity, ``σ(β − distance)``."""
    return 1.0 / (1.0 + np.exp(np.asarray(distances, dtype=np.float64) - PAIR_BIAS))


def pair_loss(embeddings: np.ndarray, labels: np.ndarray, bias: float = PAIR_BIAS) -> float:
    """The pair classifier's loss on one batch: binary cross-entropy of ``σ(β − L1)`` on every
    pair ``i < j``, the mean over same pairs and the mean over different pairs weighted half
    each (a batch holds many more different pairs); a kind of pair the batch lacks is left out.

    Args:
        embeddings: `(n, d)` weighted embeddings (the learned ``w_k`` already applied).
        labels: `(n,)` identities.
        bias: β.
    """
    d = distance_matrix(embeddings, "l1")
    y = np.asarray(labels).reshape(-1)
    i, j = np.triu_indices(len(y), k=1)
    same = y[i] == y[j]
    logits = bias - d[i, j]
    # -log σ(z) and -log(1 - σ(z)), stable for large |z|
    ce = np.where(same, np.logaddexp(0.0, -logits), np.logaddexp(0.0, logits))
    parts = [ce[same].mean()] if same.any() else []
    parts += [ce[~same].mean()] if (~same).any() else []
    return float(np.mean(parts)) if parts else 0.0


@dataclass(frozen=True)
class Pairs:
    """Pairs of examples of one set: positions into the set and whether they share an identity."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)


def verification_pairs(labels: np.ndarray, seed: int = 0, negatives_per_positive: int = 1) -> Pairs:
    """Every positive pair of a set and a seeded sample of negative pairs.

    The pairs ``i < j`` are in row order (by ``i``, then ``j``): the positives, then the sampled
    negatives. The sample is drawn among the negative pairs numbered in that order, so the set's
    ``n²/2`` pairs are never held: memory grows with the pairs kept (a set of 20,000 examples has
    200 million pairs).

    Args:
        labels: `(n,)` identities.
        seed: seeds the negative sample (the same set always gets the same pairs).
        negatives_per_positive: negatives drawn per positive pair (at most all of them).
    """
    y = np.asarray(labels).reshape(-1)
    n = len(y)
    codes = np.unique(y, return_inverse=True)[1].reshape(-1)
    # the members of each identity, in increasing position
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if n else np.zeros(0, int)
    sizes = np.diff(np.r_[starts, n])
    pos_first, pos_second = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
    for start, size in zip(starts, sizes, strict=True):
        if size > 1:
            members = order[start : start + size]
            a, b = np.triu_indices(size, k=1)
            pos_first.append(members[a])
            pos_second.append(members[b])
    first, second = np.concatenate(pos_first), np.concatenate(pos_second)
    in_rows = np.lexsort((second, first))
    first, second = first[in_rows], second[in_rows]
    # per row i: the later examples of another identity, and the negatives before its row
    later_same = np.empty(n, np.intp)
    later_same[order] = np.repeat(sizes, sizes) - 1 - (np.arange(n) - np.repeat(starts, sizes))
    row_negatives = (n - 1 - np.arange(n)) - later_same
    n_negatives = int(row_negatives.sum())
    n_neg = min(n_negatives, max(1, negatives_per_positive * len(first)))
    neg_first, neg_second = np.zeros(0, np.intp), np.zeros(0, np.intp)
    if n_negatives:
        picked = np.sort(np.random.default_rng(seed).choice(n_negatives, size=n_neg, replace=False))
        ends = np.cumsum(row_negatives)
        neg_first = np.searchsorted(ends, picked, side="right")
        offset = picked - (ends - row_negatives)[neg_first]
        neg_second = np.empty(n_neg, np.intp)
        rows, row_starts = np.unique(neg_first, return_index=True)
        for row, lo, hi in zip(rows, row_starts, np.r_[row_starts[1:], n_neg], strict=True):
            others = np.flatnonzero(codes[row + 1 :] != codes[row]) + row + 1
            neg_second[lo:hi] = others[offset[lo:hi]]
    same = np.r_[np.ones(len(first), bool), np.zeros(n_neg, bool)]
    return Pairs(np.r_[first, neg_first].astype(np.intp), np.r_[second, neg_second].astype(np.intp), same)


def pair_distances(embeddings: np.ndarray, pairs: Pairs, metric: Metric = "euclidean") -> np.ndarray:
    """Distance `(pairs,)` of each pair: Euclidean, or L1."""
    e = np.asarray(embeddings, dtype=np.float64)
    diff = e[pairs.first] - e[pairs.second]
    if metric == "l1":
        return np.abs(diff).sum(axis=1)
    return np.sqrt((diff**2).sum(axis=1))


def choose_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """τ with the highest pair accuracy (``same`` iff distance ≤ τ); midway between neighbouring
    distances, the smallest such τ on ties. NaN without pairs. One sort: O(n log n)."""
    d = np.asarray(distances, dtype=np.float64)
    s = np.asarray(same, dtype=bool)
    if len(d) == 0:
        return float("nan")
    order = np.argsort(d, kind="stable")
    values = np.unique(d)
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    # pairs right at τ: the same pairs at or below it, and the different ones above it
    accepted = np.searchsorted(d[order], candidates, side="right")
    same_accepted = np.r_[0, np.cumsum(s[order])][accepted]
    right = same_accepted + (int((~s).sum()) - (accepted - same_accepted))
    return float(candidates[int(np.argmax(right))])


def roc_auc(distances: np.ndarray, same: np.ndarray) -> float:
    """ROC AUC of ``-distance`` as the score of "same identity" (ties count half); NaN when a
    kind of pair is missing. From ranks: O(n log n), not a positives-by-negatives table."""
    return binary_auc(np.asarray(same, dtype=bool), -np.asarray(distances, dtype=np.float64))


def verification_scores(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float]:
    """Pair accuracy, false accept and false reject rates at τ, ROC AUC, and the pair counts."""
    d = np.asarray(distances, dtype=np.float64)
    s = np.asarray(same, dtype=bool)
    accept = d <= threshold
    nan = float("nan")
    return {
        "verification_accuracy": float((accept == s).mean()) if len(d) else nan,
        "false_accept_rate": float(accept[~s].mean()) if (~s).any() else nan,
        "false_reject_rate": float((~accept[s]).mean()) if s.any() else nan,
        "roc_auc": roc_auc(d, s),
        "threshold": float(threshold),
        "n_pairs": float(len(d)),
    }


@dataclass(frozen=True)
class Nearest:
    """Per example of a set: its nearest other example, its farthest same-identity example
    (hardest positive) and its closest other-identity example (hardest negative); distances
    in the set's metric, positions into the set (-1 and NaN where there is none)."""

    index: np.ndarray
    distance: np.ndarray
    positive_distance: np.ndarray
    negative_distance: np.ndarray


def nearest(embeddings: np.ndarray, labels: np.ndarray, metric: Metric = "euclidean") -> Nearest:
    """Each example's nearest other example and hardest positive and negative within the set.

    The distances are computed a block of rows at a time (about :data:`BLOCK_BYTES` each), so a
    set of ``n`` examples never holds its ``n × n`` table.
    """
    e = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels).reshape(-1)
    n = len(y)
    index = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.nan)
    positive = np.full(n, -np.inf)
    negative = np.full(n, np.inf)
    width = e.shape[1] if metric == "l1" and e.ndim == 2 else 1  # L1 holds each pair's differences
    rows = max(1, BLOCK_BYTES // (8 * max(n, 1) * max(width, 1)))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        d = distance_matrix(e, metric, slice(lo, hi))
        block, itself = np.arange(hi - lo), np.arange(lo, hi)  # each row's own column
        same = y[lo:hi, None] == y[None, :]
        negative[lo:hi] = np.where(same, np.inf, d).min(axis=1)
        masked = np.where(same, d, -np.inf)
        masked[block, itself] = -np.inf
        positive[lo:hi] = masked.max(axis=1)
        if n > 1:
            np.copyto(masked, d)
            masked[block, itself] = np.inf
            index[lo:hi] = masked.argmin(axis=1)
            distance[lo:hi] = masked[block, index[lo:hi]]
    return Nearest(
        index=index,
        distance=distance,
        positive_distance=np.where(np.isfinite(positive), positive, np.nan),
        negative_distance=np.where(np.isfinite(negative), negative, np.nan),
    )
