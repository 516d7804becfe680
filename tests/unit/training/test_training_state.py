"""The training step is traced once: its variables exist before the first batch."""

from __future__ import annotations

import numpy as np

from dlkit.training.fit import build_training_state


def test_training_step_is_traced_once_after_the_state_is_built() -> None:
    import keras
    import tensorflow as tf

    traced: list[int] = []

    class Counted(keras.Sequential):
        def train_step(self, data):  # type: ignore[no-untyped-def]
            traced.append(1)  # runs only while TensorFlow traces the step
            return super().train_step(data)

    keras.utils.set_random_seed(0)
    model = Counted([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int32"))).batch(16)

    build_training_state(model, batches)
    assert model.optimizer.built  # before any batch: nothing left for the first trace to create
    model.fit(batches, epochs=2, shuffle=False, verbose=0)
    assert len(traced) == 1
