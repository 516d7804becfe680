"""Runtime choices on a CPU-only machine, and the epoch-keyed training stream."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.errors import RecipeError
from dlkit.training.runtime import make_strategy, resolve_mixed_precision, training_runtime
from dlkit.training.spec import TrainSpec
from dlkit.training.stream import epoch_stream, steps_per_epoch


def test_mixed_precision_auto_is_off_without_a_gpu() -> None:
    import tensorflow as tf

    assert tf.config.list_physical_devices("GPU") == []  # this suite runs on CPU
    assert resolve_mixed_precision("auto") is False
    assert resolve_mixed_precision(True) is True and resolve_mixed_precision(False) is False


def test_runtime_sets_and_restores_the_dtype_policy() -> None:
    import keras

    with training_runtime(TrainSpec(mixed_precision=True), seed=0) as runtime:
        assert runtime.mixed_precision and keras.mixed_precision.global_policy().name == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with training_runtime(TrainSpec(mixed_precision="auto"), seed=0) as runtime:
        assert not runtime.mixed_precision and keras.mixed_precision.global_policy().name == "float32"


def test_mirrored_strategy_on_cpu_has_one_replica() -> None:
    with training_runtime(TrainSpec(strategy="mirrored"), seed=0) as runtime:
        assert type(runtime.strategy).__name__ == "MirroredStrategy" and runtime.replicas == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "train.strategy: multi_worker needs the TF_CONFIG environment variable (it is not set)"),
        (
            "{nope",
            "TF_CONFIG: not valid JSON: Expecting property name enclosed in double quotes (got '{nope')",
        ),
        (
            '{"task": {}}',
            "TF_CONFIG: expected a cluster with a worker list and a task (got '{\"task\": {}}')",
        ),
    ],
)
def test_multi_worker_needs_a_usable_tf_config(monkeypatch: pytest.MonkeyPatch, value, message) -> None:
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(RecipeError) as info:
        make_strategy("multi_worker")
    assert info.value.message == message


def _batches(ds) -> list[list[int]]:
    return [b[0].numpy().reshape(-1).astype(int).tolist() for b in ds]


def test_stream_from_epoch_k_is_the_tail_of_the_stream_from_zero() -> None:
    x, y = np.arange(10), np.arange(10)
    full = _batches(epoch_stream(x, y, 4, shuffle=True, seed=5, initial_epoch=0, epochs=3))
    tail = _batches(epoch_stream(x, y, 4, shuffle=True, seed=5, initial_epoch=1, epochs=3))
    assert steps_per_epoch(10, 4) == 3 and len(full) == 9
    assert full[3:] == tail
    epochs = [sorted(v for batch in full[i : i + 3] for v in batch) for i in (0, 3, 6)]
    assert all(e == list(range(10)) for e in epochs)  # each epoch sees every example once
    assert full[0:3] != full[3:6]  # and a new order each epoch
    other_seed = _batches(epoch_stream(x, y, 4, shuffle=True, seed=6, initial_epoch=0, epochs=1))
    assert other_seed != full[:3]


def test_stream_without_shuffle_keeps_order() -> None:
    x = np.arange(5)
    assert _batches(epoch_stream(x, x, 2, shuffle=False, seed=0, initial_epoch=0, epochs=2)) == [
        [0, 1],
        [2, 3],
        [4],
        [0, 1],
        [2, 3],
        [4],
    ]
