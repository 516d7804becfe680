"""A model's outputs through its own predict function, batch by batch: model.predict's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.models.outputs import predict_arrays


@pytest.fixture(scope="module")
def models():
    """A one-input model (normalisation, dropout: inference mode matters) and a two-input,
    two-output one, built once (the autouse session clearing does not touch built models)."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inp = keras.Input((5,))
    norm = keras.layers.Normalization()
    norm.adapt(rng.normal(size=(40, 5)) * 10)
    h = keras.layers.Dropout(0.5)(keras.layers.Dense(7, activation="relu")(norm(inp)))
    single = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
    single.compile("adam", "sparse_categorical_crossentropy")
    tokens, extra = keras.Input((4,), dtype="int32"), keras.Input((2,))
    h = keras.layers.Concatenate()([keras.layers.Flatten()(keras.layers.Embedding(9, 3)(tokens)), extra])
    double = keras.Model([tokens, extra], [keras.layers.Dense(2)(h), keras.layers.Dense(1)(h)])
    double.compile("adam", ["mse", "mse"])
    return single, double


def test_outputs_are_model_predicts_bit_for_bit_with_one_trace_for_every_set(models) -> None:
    single, _ = models
    rng = np.random.default_rng(1)
    sets = [rng.normal(size=(n, 5)) * 10 for n in (23, 10, 7)]  # float64: given to the model as float32
    expected = [single.predict(x, batch_size=8, verbose=0) for x in sets]
    single.predict_function = None  # a fresh predict function, as a newly trained model has
    got = [predict_arrays(single, x, 8) for x in sets]
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)
    # batches of 8 and 7 (23 rows), 8 and 2, then 7: one trace with the batch size left open
    assert single.predict_function.experimental_get_tracing_count() == 1


def test_several_inputs_and_outputs_keep_their_structure(models) -> None:
    _, double = models
    rng = np.random.default_rng(2)
    x = (rng.integers(0, 9, size=(11, 4)).astype("int32"), rng.normal(size=(11, 2)).astype("float32"))
    expected = double.predict(x, batch_size=4, verbose=0)
    got = predict_arrays(double, x, 4)
    assert isinstance(got, list) and len(got) == 2
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
    one_batch = predict_arrays(double, (x[0][:3], x[1][:3]), 4)
    np.testing.assert_array_equal(one_batch[0], expected[0][:3])
