"""Every registered model builds, has the right output, trains a step and round-trips .keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.errors import BuildError
from dlkit.models import MODELS, Head, build_model

# One example input per kind of data a model accepts.
INPUTS = {"mlp": [(8, 8, 1), (5,)], "cnn": [(8, 8, 1)]}


def test_unknown_model_did_you_mean() -> None:
    with pytest.raises(BuildError) as info:
        MODELS.get("cnm")
    assert info.value.message == "Unknown model type 'cnm'. Available: cnn, mlp. Did you mean 'cnn'?"


def test_every_registered_model_has_test_inputs() -> None:
    assert set(MODELS.names()) == set(INPUTS)


CASES = [
    (name, shape, task)
    for name, shapes in INPUTS.items()
    for shape in shapes
    for task in ("binary", "multiclass", "regression")
]


@pytest.mark.parametrize(("name", "shape", "task"), CASES)
def test_builds_trains_and_round_trips(name: str, shape: tuple, task: str, workdir: Path) -> None:
    import keras

    spec = MODELS.get(name).spec()
    head = Head.for_task(task, 3)
    model = build_model(spec, shape, head)
    assert model.output_shape == (None, head.units)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, *shape)).astype("float32")
    y = rng.integers(0, 2 if task == "binary" else 3, size=16)
    loss = {
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
        "regression": "mse",
    }[task]
    model.compile(optimizer="sgd", loss=loss)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y.astype("float32"), epochs=1, batch_size=16, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    model.save(workdir / "m.keras")
    again = keras.models.load_model(workdir / "m.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_logistic_regression_has_no_hidden_layer() -> None:
    model = build_model(MODELS.get("mlp").spec(units=[]), (30,), Head.for_task("binary", 2))
    assert model.count_params() == 31  # 30 weights + 1 bias


def test_cnn_parameter_count() -> None:
    spec = MODELS.get("cnn").spec(filters=[4], kernel_size=3, dense=[5])
    model = build_model(spec, (8, 8, 1), Head.for_task("multiclass", 10))
    # conv 3*3*1*4+4 = 40; pool 8x8 -> 4x4, flatten 64; dense 64*5+5 = 325; out 5*10+10 = 60
    assert model.count_params() == 40 + 325 + 60


def test_cnn_refuses_input_too_small() -> None:
    spec = MODELS.get("cnn").spec(filters=[8, 8, 8, 8])
    with pytest.raises(BuildError) as info:
        build_model(spec, (8, 8, 1), Head.for_task("multiclass", 10))
    assert info.value.message == (
        "model cnn: input 8x8 is too small for 4 conv blocks: block 3 would shrink 1x1 to 0x0"
    )


def test_cnn_refuses_tables() -> None:
    with pytest.raises(
        BuildError,
        match=r"model cnn needs image input \(height, width, channels\); the data has shape \(5,\)",
    ):
        build_model(MODELS.get("cnn").spec(), (5,), Head.for_task("binary", 2))
