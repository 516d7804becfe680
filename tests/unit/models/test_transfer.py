"""transfer: what freezes and what trains; python: a user's builder and its mistakes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlkit.errors import BuildError
from dlkit.models import MODELS, BuildContext, Head, build_model


def _base(folder: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    spec = MODELS.get("cnn").spec(filters=[4, 4], dense=[8])
    normalizer = keras.layers.Normalization(axis=None, name="normalize")
    normalizer.adapt(np.arange(64, dtype="float32").reshape(1, 8, 8, 1))
    model = build_model(spec, (8, 8, 1), Head(10, "softmax"), normalizer)
    model.save(folder / "base.keras")
    return folder / "base.keras"


def _train(model, n_classes: int = 3) -> dict[str, list[np.ndarray]]:
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8, 8, 1)).astype("float32")
    before = {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, n_classes, 16), epochs=2, batch_size=8, verbose=0)
    return {
        p: [b, keras.ops.convert_to_numpy(w)]
        for p, b, w in ((w.path, before[w.path], w) for w in model.weights)
    }


def _changed(history: dict[str, list[np.ndarray]], layer: str) -> bool:
    """Whether any weight of ``layer`` (weight paths end in ``<layer>/<weight>``) moved."""
    return any(not np.allclose(b, a) for p, (b, a) in history.items() if p.split("/")[-2] == layer)


def _build(folder: Path, **base: object):
    spec = MODELS.get("transfer").spec(base={"path": str(_base(folder)), **base}, dense=[5])
    return build_model(spec, (8, 8, 1), Head(3, "softmax"), context=BuildContext(base_dir=folder))


def test_feature_extraction_trains_the_head_only(workdir: Path) -> None:
    model = _build(workdir)
    base = model.get_layer("base")
    # the old 10-class output is cut off; the base keeps its own normalisation
    assert [layer.name for layer in base.layers][-1] == "dense_0"
    assert "normalize" in [layer.name for layer in base.layers]
    history = _train(model)
    assert not any(_changed(history, n) for n in ("conv_0", "conv_1", "dense_0"))
    assert _changed(history, "head_dense_0") and _changed(history, "output")


def test_until_freezes_up_to_a_layer(workdir: Path) -> None:
    history = _train(_build(workdir, until="pool_0"))
    assert not _changed(history, "conv_0")
    assert _changed(history, "conv_1") and _changed(history, "dense_0")


def test_trainable_last_fine_tunes_the_last_layers(workdir: Path) -> None:
    model = _build(workdir, trainable_last=1)
    assert [layer.name for layer in model.get_layer("base").layers if layer.trainable and layer.weights] == [
        "dense_0"
    ]
    history = _train(model)
    assert not _changed(history, "conv_0") and not _changed(history, "conv_1")
    assert _changed(history, "dense_0")


def test_cut_at_a_named_layer(workdir: Path) -> None:
    model = _build(workdir, layer="pool_1")
    assert model.get_layer("base").output.shape[1:] == (2, 2, 4)
    assert model.get_layer("head_flatten").output.shape[1:] == (16,)


def test_base_errors(workdir: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(
        BuildError, match=r"model\.base\.until: the base has no layer 'conv_9'\. Did you mean"
    ):
        _build(workdir, until="conv_9")
    spec = MODELS.get("transfer").spec(base={"path": str(_base(workdir))})
    with pytest.raises(
        BuildError, match=r"base\.keras takes inputs of shape \(8, 8, 1\) but the data has shape \(5,\)"
    ):
        build_model(spec, (5,), Head(2, "softmax"))
    with pytest.raises(ValidationError, match="give at most one of freeze, until, trainable_last"):
        MODELS.get("transfer").spec(base={"path": "b.keras", "until": "x", "trainable_last": 1})
    with pytest.raises(ValidationError, match="give exactly one of run"):
        MODELS.get("transfer").spec(base={})
    spec = MODELS.get("transfer").spec(base={"path": "missing.keras"})
    with pytest.raises(BuildError, match=r"model\.base\.path: .*missing\.keras: file not found"):
        build_model(spec, (8, 8, 1), Head(2, "softmax"), context=BuildContext(base_dir=workdir))


def _user(folder: Path, code: str) -> BuildContext:
    (folder / "my_model.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return BuildContext(base_dir=folder)


def test_python_builder_gets_inputs_outputs_and_options(workdir: Path) -> None:
    context = _user(
        workdir,
        """
        import keras

        def make(inputs, n_outputs, activation, width=3):
            x = keras.layers.Dense(width, name="mine")(inputs)
            return keras.layers.Dense(n_outputs, activation=activation)(x)
        """,
    )
    spec = MODELS.get("python").spec(path="my_model.py", function="make", options={"width": 7})
    model = build_model(spec, (4,), Head(3, "softmax"), context=context)
    assert model.get_layer("mine").output.shape[1:] == (7,)
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize(
    ("code", "function", "message"),
    [
        (
            "def build(x, n, a):\n    return x\n",
            "make",
            r"model\.function: .*my_model\.py has no function 'make'",
        ),
        (
            "def build(x, n, a):\n    return x\n",
            "build",
            r"my_model\.py: build\(\) returned outputs of shape \(4,\); the task needs \(3,\) with softmax",
        ),
        (
            "def build(x, n, a):\n    raise ValueError('no')\n",
            "build",
            r"my_model\.py: line 2: build\(\) raised ValueError: no",
        ),
        ("import nothing_here\n", "build", r"my_model\.py: line 1: importing it raised ModuleNotFoundError"),
        (
            "def build(x, n, a):\n    return 3\n",
            "build",
            r"build\(\) returned int; expected the output tensor",
        ),
    ],
)
def test_python_builder_mistakes(workdir: Path, code: str, function: str, message: str) -> None:
    context = _user(workdir, code)
    spec = MODELS.get("python").spec(path="my_model.py", function=function)
    with pytest.raises(BuildError, match=message) as info:
        build_model(spec, (4,), Head(3, "softmax"), context=context)
    assert info.value.exit_code == 2
