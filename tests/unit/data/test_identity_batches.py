"""Identity-balanced training batches (P identities × K images), through the real tf.data stream."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dlkit.data.identity_batches import IdentityBatches
from dlkit.errors import RecipeError

# 7 identities: 0-4 with 4 images, 5 with 3, 6 with one (no positive: never drawn)
LABELS = np.array([0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 3 + [6])


def _batches(ds: object) -> list[np.ndarray]:
    return [np.asarray(y) for _, y in ds]  # type: ignore[attr-defined]


def test_every_streamed_batch_holds_p_identities_with_k_images() -> None:
    from dlkit.training.stream import epoch_stream

    sampler = IdentityBatches(LABELS, identities=3, per_identity=4, seed=0)
    assert sampler.steps == 2  # 24 images / 12 per batch
    x = np.arange(len(LABELS), dtype=np.float32)[:, None]
    kw = {"shuffle": True, "seed": 0, "epochs": 2, "sampler": sampler}
    batches = _batches(epoch_stream(x, LABELS, 32, initial_epoch=0, **kw))
    assert len(batches) == 2 * sampler.steps
    for y in batches:
        counts = Counter(y.tolist())
        assert len(counts) == 3 and set(counts.values()) == {4}  # P identities, K images each
        assert 6 not in counts
    # epoch 1's batches are the same when a run resumes there, and differ from epoch 0's
    tail = _batches(epoch_stream(x, LABELS, 32, initial_epoch=1, **kw))
    assert [b.tolist() for b in tail] == [b.tolist() for b in batches[sampler.steps :]]
    assert [b.tolist() for b in batches[:2]] != [b.tolist() for b in tail]


def test_an_identity_with_fewer_than_k_images_repeats_one() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    sampler = IdentityBatches(labels, identities=2, per_identity=4, seed=3)
    for epoch in range(3):
        drawn = sampler(epoch)
        assert drawn.shape == (2, 8)  # 9 images / 8 per batch, rounded up
        for batch in drawn:
            assert Counter(labels[batch].tolist()) == {0: 4, 1: 4}
            assert set(batch[batch < 3].tolist()) == {0, 1, 2}  # all three of identity 0, one twice


def test_more_identities_per_batch_than_train_has_is_refused() -> None:
    with pytest.raises(RecipeError) as caught:
        IdentityBatches(LABELS, identities=7, per_identity=2, seed=0)
    assert caught.value.message == (
        "verification.identities_per_batch: 7 identities per batch, but train has 6 identities with "
        "two or more images"
    )


def test_the_training_pipeline_yields_identity_batches_for_a_verification_task(tmp_path: Path) -> None:
    from dlkit.data.arrays import NpzSource
    from dlkit.data.sources import load_source
    from dlkit.tasks.spec import VerificationSpec
    from dlkit.tasks.verification import Verification
    from dlkit.training.pipeline import training_data
    from dlkit.training.spec import TrainSpec

    x = np.arange(len(LABELS) * 4, dtype=np.float32).reshape(len(LABELS), 2, 2, 1)
    np.savez(tmp_path / "faces.npz", x=x, y=np.array([f"id{v}" for v in LABELS]))
    data = load_source(NpzSource(path=tmp_path / "faces.npz"), "verification", tmp_path)
    train, dev = np.arange(0, 20), np.arange(20, len(LABELS))  # identities 0-4 train, 5-6 dev
    task = Verification(VerificationSpec(identities_per_batch=2, images_per_identity=3))
    spec = TrainSpec(epochs=2, batch_size=32)
    stream, dev_batches, steps = training_data(spec, data, train, dev, seed=1, task=task)
    assert steps == 4  # 20 images / (2 x 3) per batch, rounded up
    batches = [(np.asarray(bx), np.asarray(by)) for bx, by in stream]
    assert len(batches) == 2 * steps
    for bx, by in batches:
        assert sorted(Counter(by.tolist()).values()) == [3, 3]  # 2 identities, 3 images each
        rows = (bx[:, 0, 0, 0] // 4).astype(int)  # example i's first pixel is 4i
        assert set(rows) <= set(train) and data.y[rows].tolist() == by.tolist()  # inputs match labels
    assert sum(len(np.asarray(b)) for _, b in dev_batches) == 4  # dev keeps its own batches
