"""Training batches of P identities × K images each, for the triplet loss and the pair classifier.

Random batches of a verification set often hold no two images of one identity, and a batch
without a positive pair teaches the triplet loss nothing. FaceNet and "batch hard" training
(Hermans et al., 2017) draw each batch as P identities with K images of each, so every anchor
has K − 1 positives and (P − 1)·K negatives to mine. Pure NumPy, seeded by ``(seed, epoch)``: a
resumed run draws the same batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlkit.errors import RecipeError


@dataclass(frozen=True)
class IdentityBatches:
    """Per epoch, ``steps`` batches of ``identities`` distinct identities × ``per_identity``
    images (positions into the training labels).

    Attributes:
        labels: `(n,)` identity of each training example.
        identities: P.
        per_identity: K; an identity with fewer images gives each once and some again.
        seed: the recipe's seed.
    """

    labels: np.ndarray
    identities: int
    per_identity: int
    seed: int

    def __post_init__(self) -> None:
        n_eligible = len(self.eligible)
        if n_eligible < self.identities:
            raise RecipeError(
                f"verification.identities_per_batch: {self.identities} identities per batch, but train "
                f"has {n_eligible} identities with two or more images"
            )

    @property
    def eligible(self) -> np.ndarray:
        """Identities with at least two training images (one alone has no positive)."""
        values, counts = np.unique(np.asarray(self.labels).reshape(-1), return_counts=True)
        return values[counts >= 2]

    @property
    def batch_size(self) -> int:
        return self.identities * self.per_identity

    @property
    def steps(self) -> int:
        """Batches per epoch: about one pass over the training images."""
        return max(1, math.ceil(len(self.labels) / self.batch_size))

    def __call__(self, epoch: int) -> np.ndarray:
        """The batches of ``epoch``: `(steps, identities × per_identity)` positions, each batch
        identity by identity (K consecutive positions per identity)."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        y = np.asarray(self.labels).reshape(-1)
        eligible = self.eligible
        where = {label: np.flatnonzero(y == label) for label in eligible.tolist()}
        out = np.empty((self.steps, self.batch_size), dtype=np.int64)
        for step in range(self.steps):
            chosen = rng.choice(eligible, size=self.identities, replace=False)
            for i, label in enumerate(chosen.tolist()):
                positions = where[label]
                k = self.per_identity
                if len(positions) >= k:
                    picked = rng.choice(positions, size=k, replace=False)
                else:  # every image once, the rest drawn again
                    picked = np.concatenate([positions, rng.choice(positions, size=k - len(positions))])
                out[step, i * k : (i + 1) * k] = picked
        return out
