"""Every registered model builds, has the right output, trains a step and round-trips .keras."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dlkit.errors import BuildError
from dlkit.models import MODELS, BuildContext, Head, build_model, load_model
from dlkit.tasks import task_for

RNG = np.random.default_rng(0)


def images(shape: tuple[int, ...]) -> Callable[[int], np.ndarray]:
    return lambda n: RNG.normal(size=(n, *shape)).astype("float32")


def tokens(length: int, vocab: int) -> Callable[[int], np.ndarray]:
    def make(n: int) -> np.ndarray:
        x = RNG.integers(1, vocab, size=(n, length)).astype("int32")
        x[: n // 2, length // 2 :] = 0  # half the sequences padded
        return x

    return make


def _base_file(folder: Path) -> Path:
    base = build_model(MODELS.get("cnn").spec(filters=[4], dense=[8]), (8, 8, 1), Head(10, "softmax"))
    path = folder / "base.keras"
    base.save(path)
    return path


USER_MODEL = """
import keras

def build(inputs, n_outputs, activation, units=8):
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(units, activation="relu")(x)
    return keras.layers.Dense(n_outputs, activation=activation, name="output")(x)
"""

# name -> [(id, spec settings, input shape, input maker)]; every registered type needs a case
CASES: dict[str, list[tuple[str, dict[str, Any], tuple[int | None, ...], Any]]] = {
    "mlp": [
        (
            "table",
            {"units": [8, 4], "dropout": [0.1, 0.0], "batch_norm": [True, False], "l1": 1e-4},
            (5,),
            images((5,)),
        ),
        ("image", {"units": [], "activation": "selu"}, (8, 8, 1), images((8, 8, 1))),
    ],
    "cnn": [
        (
            "digits",
            {"filters": [4, 8], "kernel_size": [3, 1], "global_pool": True},
            (8, 8, 1),
            images((8, 8, 1)),
        ),
    ],
    "lenet5": [("resized", {"resize": [32, 32]}, (8, 8, 1), images((8, 8, 1)))],
    "alexnet": [("small", {"dense": [16], "batch_norm": True}, (67, 67, 1), images((67, 67, 1)))],
    "vgg16": [("32", {"dense": [16], "global_pool": True}, (32, 32, 1), images((32, 32, 1)))],
    "resnet": [
        ("18-digits", {"depth": 18}, (8, 8, 1), images((8, 8, 1))),
    ],
    "inception": [("narrow", {"width": 0.25}, (32, 32, 3), images((32, 32, 3)))],
    "mobilenet": [
        ("v1", {"alpha": 0.25}, (32, 32, 1), images((32, 32, 1))),
        ("v2", {"version": 2, "alpha": 0.35}, (32, 32, 3), images((32, 32, 3))),
    ],
    "efficientnet_b0": [("32", {}, (32, 32, 3), images((32, 32, 3)))],
    "rnn": [
        ("lstm-features", {"units": [8, 8]}, (6, 3), images((6, 3))),
        (
            "gru-tokens-bi",
            {"cell": "gru", "bidirectional": True, "embedding": {"input_dim": 20}},
            (7,),
            tokens(7, 20),
        ),
        ("simple-many-to-many", {"cell": "simple_rnn", "output": "sequence"}, (6, 3), images((6, 3))),
    ],
    "avg_embedding": [
        ("tokens", {"embedding": {"input_dim": 20, "output_dim": 4}, "dense": [4]}, (7,), tokens(7, 20)),
        ("features", {"dropout": 0.1}, (6, 3), images((6, 3))),
    ],
    "transformer": [
        ("tokens", {"embedding": {"input_dim": 20}, "d_model": 16}, (7,), tokens(7, 20)),
        ("features", {"d_model": 8, "num_layers": 1}, (6, 3), images((6, 3))),
    ],
    "seq2seq": [
        ("additive", {"source_vocab_size": 12, "target_vocab_size": 12, "units": 8}, (6,), tokens(6, 12)),
        (
            "dot-lstm",
            {"source_vocab_size": 12, "units": 8, "cell": "lstm", "attention": "dot"},
            (6,),
            tokens(6, 12),
        ),
    ],
    "conv_gru": [("strided", {"filters": 4, "units": [4, 4], "strides": 4}, (12, 5), images((12, 5)))],
    "crnn": [("columns", {"filters": [4, 8], "units": 4, "cell": "lstm"}, (8, 16, 1), images((8, 16, 1)))],
    "transfer": [("frozen", {"base": {"path": "BASE"}, "dense": [4]}, (8, 8, 1), images((8, 8, 1)))],
    "unet": [("depth-2", {"depth": 2, "filters": 4, "batch_norm": True}, (16, 16, 1), images((16, 16, 1)))],
    "python": [("user", {"path": "my_model.py", "options": {"units": 4}}, (8, 8, 1), images((8, 8, 1)))],
}


def test_every_registered_model_has_test_cases() -> None:
    assert set(MODELS.names()) == set(CASES)


def test_unknown_model_did_you_mean() -> None:
    with pytest.raises(BuildError) as info:
        MODELS.get("resnt")
    assert info.value.message.endswith("Did you mean 'resnet'?")
    assert (
        "Available: alexnet, avg_embedding, cnn, conv_gru, crnn, efficientnet_b0, inception, lenet5, mlp"
        in info.value.message
    )


PARAMS = [
    pytest.param(name, settings, shape, make, id=f"{name}-{case}")
    for name, cases in CASES.items()
    for case, settings, shape, make in cases
]


@pytest.mark.parametrize(("name", "settings", "shape", "make"), PARAMS)
def test_builds_trains_a_step_and_round_trips(
    name: str, settings: dict[str, Any], shape: tuple[int, ...], make: Any, workdir: Path
) -> None:
    import keras

    keras.utils.set_random_seed(0)
    if name == "transfer":
        settings = {**settings, "base": {"path": str(_base_file(workdir))}}
    if name == "python":
        (workdir / "my_model.py").write_text(textwrap.dedent(USER_MODEL), encoding="utf-8")
    spec = MODELS.get(name).spec(**settings)
    head = Head(3, "softmax")
    model = build_model(spec, shape, head, context=BuildContext(base_dir=workdir))
    x = make(8)
    if name == "seq2seq":
        target_in = np.concatenate([np.ones((8, 1), "int32"), x[:, :-1] % 10 + 2], axis=1)
        inputs: Any = [x, target_in]
        y = np.where(target_in > 0, target_in, 0)
        vocab = spec.target_vocab_size or spec.source_vocab_size
        assert model.output_shape == (None, None, vocab)
    elif name == "crnn":  # one distribution per column of the last feature map (width 16 / 2)
        inputs, y = x, RNG.integers(0, 3, size=(8, 8))
        assert model.output_shape == (None, 8, 3)
    elif name == "conv_gru":  # one output per 4 frames: ceil(12 / 4) steps
        inputs, y = x, RNG.integers(0, 3, size=(8, 3))
        assert model.output_shape == (None, 3, 3)
    elif name == "unet":  # a class per pixel
        inputs, y = x, RNG.integers(0, 3, size=(8, *shape[:2]))
        assert model.output_shape == (None, *shape[:2], 3)
    elif getattr(spec, "output", "last") == "sequence":
        inputs, y = x, RNG.integers(0, 3, size=(8, shape[0]))
        assert model.output_shape == (None, shape[0], 3)
    else:
        inputs, y = x, RNG.integers(0, 3, size=8)
        assert model.output_shape == (None, 3)
    # eager: one step of a 200-layer network is faster than tracing it
    model.compile(
        optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", run_eagerly=True
    )
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_weights]
    model.train_on_batch(inputs, y)
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    model.save(workdir / "m.keras")
    again = load_model(workdir / "m.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(inputs, training=False)),
        keras.ops.convert_to_numpy(again(inputs, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_heads_for_each_task(task: str) -> None:
    model = build_model(
        MODELS.get("mlp").spec(units=[4]), (5,), task_for(task).head(SimpleNamespace(n_classes=3))
    )
    expected = {"binary": (1, "sigmoid"), "multiclass": (3, "softmax"), "regression": (1, "linear")}[task]
    assert model.output_shape == (None, expected[0])
    assert model.get_layer("output").get_config()["activation"] == expected[1]


def test_logistic_regression_has_no_hidden_layer() -> None:
    model = build_model(MODELS.get("mlp").spec(units=[]), (30,), Head(1, "sigmoid"))
    assert model.count_params() == 31  # 30 weights + 1 bias


def test_mlp_batch_norm_drops_the_redundant_bias() -> None:
    spec = MODELS.get("mlp").spec(units=[4, 4], batch_norm=[True, False])
    model = build_model(spec, (5,), Head(2, "softmax"))
    # dense_0 5*4 (no bias) + bn 4*4 ; dense_1 4*4+4 ; output 4*2+2
    assert model.count_params() == 20 + 16 + 20 + 10
    assert model.get_layer("dense_0").get_config()["use_bias"] is False


def test_mlp_regularisation_enters_the_loss() -> None:
    spec = MODELS.get("mlp").spec(units=[3], l1=0.5, l2=0.25, kernel_initializer="ones")
    model = build_model(spec, (2,), Head(1, "linear"))
    model(np.zeros((1, 2), "float32"))
    # hidden kernel of ones (2x3): L1 0.5*6 + L2 0.25*6 = 4.5; the output layer is not penalised
    assert float(sum(model.losses)) == pytest.approx(4.5)


def test_mlp_per_layer_lists_must_match_units() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="dropout: one value per hidden layer expected"):
        MODELS.get("mlp").spec(units=[4, 4], dropout=[0.1])
    with pytest.raises(ValidationError, match=r"unknown initializer 'he_normall'.*Did you mean 'he_normal'"):
        MODELS.get("mlp").spec(kernel_initializer="he_normall")


def test_cnn_parameter_count() -> None:
    spec = MODELS.get("cnn").spec(filters=[4], kernel_size=3, dense=[5])
    model = build_model(spec, (8, 8, 1), Head(10, "softmax"))
    # conv 3*3*1*4+4 = 40; pool 8x8 -> 4x4, flatten 64; dense 64*5+5 = 325; out 5*10+10 = 60
    assert model.count_params() == 40 + 325 + 60


def test_cnn_one_by_one_convolution_and_strides() -> None:
    spec = MODELS.get("cnn").spec(
        filters=[4, 2], kernel_size=[3, 1], strides=[2, 1], pool="none", padding="valid", dense=[]
    )
    model = build_model(spec, (9, 9, 1), Head(2, "softmax"))
    # (9 - 3) // 2 + 1 = 4; the 1x1 conv keeps 4x4 and mixes 4 channels into 2: 4*2+2 params
    assert model.get_layer("conv_0").output.shape[1:] == (4, 4, 4)
    assert model.get_layer("conv_1").output.shape[1:] == (4, 4, 2)
    assert model.get_layer("conv_1").count_params() == 10


def test_cnn_refuses_input_too_small() -> None:
    spec = MODELS.get("cnn").spec(filters=[8, 8, 8, 8])
    with pytest.raises(BuildError) as info:
        build_model(spec, (8, 8, 1), Head(10, "softmax"))
    assert info.value.message == (
        "model cnn: input 8x8 is too small for 4 conv blocks: block 3 would shrink 1x1 to 0x0"
    )
    assert info.value.exit_code == 2


def test_cnn_refuses_tables() -> None:
    with pytest.raises(
        BuildError,
        match=r"model cnn needs image input \(height, width, channels\); the data has shape \(5,\)",
    ):
        build_model(MODELS.get("cnn").spec(), (5,), Head(1, "sigmoid"))
