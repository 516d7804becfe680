"""Recipe sections of the tasks that have one: a module of its own, so that the task registry
(read by the report commands) does not import pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlkit._spec import Spec


class VerificationSpec(Spec):
    """The embedding and what trains it (task verification)."""

    objective: Literal["triplet", "pairs"] = Field(
        default="triplet",
        description="triplet: the triplet loss; pairs: a binary classifier on |f(x1) - f(x2)| of "
        "every pair of a batch.",
    )
    embedding: int = Field(default=32, ge=2, le=4096, description="Units of the L2-normalised embedding.")
    margin: float = Field(
        default=0.2, gt=0, le=4, description="α: how much farther a negative must be (objective triplet)."
    )
    mining: Literal["semi_hard", "hard"] = Field(
        default="semi_hard",
        description="Negatives mined within the batch: semi_hard (FaceNet) or hard (per anchor) "
        "(objective triplet).",
    )
    identities_per_batch: int | None = Field(
        default=None,
        ge=2,
        le=1000,
        description="P: train on batches of P identities x images_per_identity images each (FaceNet); "
        "none: shuffled batches of train.batch_size.",
    )
    images_per_identity: int = Field(
        default=4, ge=2, le=1000, description="K: images of each identity in a batch (identities_per_batch)."
    )
    negatives_per_positive: int = Field(
        default=1, ge=1, le=100, description="Negative pairs sampled per positive pair when scoring a set."
    )
