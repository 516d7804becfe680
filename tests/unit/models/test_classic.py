"""Classic networks: parameter counts equal keras.applications'; inputs too small are refused."""

from __future__ import annotations

import pytest

from dlkit.errors import BuildError
from dlkit.models import MODELS, Head, build_model
from dlkit.models.classic import INCEPTION_MODULES

IMAGENET = Head(1000, "softmax")


def _params(name: str, shape: tuple[int, ...], head: Head = IMAGENET, **settings: object) -> int:
    return int(build_model(MODELS.get(name).spec(**settings), shape, head).count_params())


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        # keras.applications' figures at 224x224x3 with 1000 classes (include_top=True)
        ("vgg16", {}, 138_357_544),
        ("resnet", {"depth": 50}, 25_636_712),
        ("mobilenet", {}, 4_253_864),
        ("mobilenet", {"version": 2}, 3_538_984),
        ("efficientnet_b0", {}, 5_330_571),
    ],
)
def test_parameter_counts_equal_keras_applications(name: str, settings: dict, expected: int) -> None:
    assert _params(name, (224, 224, 3), **settings) == expected


@pytest.mark.parametrize("depth", [101, 152])
def test_deep_resnets_match_keras_applications(depth: int) -> None:
    import keras

    reference = {101: keras.applications.ResNet101, 152: keras.applications.ResNet152}[depth]
    theirs = reference(weights=None, input_shape=(32, 32, 3), classes=10).count_params()
    assert _params("resnet", (32, 32, 3), Head(10, "softmax"), depth=depth) == theirs


def test_lenet5_is_the_original() -> None:
    model = build_model(MODELS.get("lenet5").spec(), (32, 32, 1), Head(10, "softmax"))
    shapes = {n: tuple(model.get_layer(n).output.shape[1:]) for n in ("c1", "s2", "c3", "s4", "c5", "f6")}
    assert shapes == {
        "c1": (28, 28, 6),
        "s2": (14, 14, 6),
        "c3": (10, 10, 16),
        "s4": (5, 5, 16),
        "c5": (120,),
        "f6": (84,),
    }
    assert type(model.get_layer("s2")).__name__ == "AveragePooling2D"
    assert model.get_layer("c1").get_config()["activation"] == "tanh"
    # 156 + 2,416 + 48,120 + 10,164 + 850
    assert model.count_params() == 61_706


def test_alexnet_parameter_count() -> None:
    # 227x227x3, one tower: convs 3,747,200 + fc6 37,752,832 + fc7 16,781,312 + fc8 4,097,000
    assert _params("alexnet", (227, 227, 3)) == 62_378_344


def test_resnet_shortcuts() -> None:
    for depth, adds, projections in ((18, 8, 3), (34, 16, 3), (50, 16, 4)):
        model = build_model(MODELS.get("resnet").spec(depth=depth), (64, 64, 3), Head(10, "softmax"))
        names = [layer.name for layer in model.layers]
        assert sum(n.endswith("_add") for n in names) == adds, depth
        # 1x1 projections where size or channels change; every other shortcut is the identity
        assert sum(n.endswith("_0_conv") for n in names) == projections, depth
    basic = build_model(MODELS.get("resnet").spec(depth=18), (64, 64, 3), Head(10, "softmax"))
    assert basic.get_layer("conv2_block1_2_conv").get_config()["kernel_size"] == (3, 3)
    assert basic.get_layer("conv5_block2_out").output.shape[1:] == (2, 2, 512)


def test_inception_modules_use_one_by_one_reductions() -> None:
    model = build_model(MODELS.get("inception").spec(), (224, 224, 3), IMAGENET)
    c1, r3, c3, r5, c5, pp = INCEPTION_MODULES["3a"]
    cin = 192
    expected = (cin * c1 + c1) + (cin * r3 + r3) + (9 * r3 * c3 + c3) + (cin * r5 + r5) + (25 * r5 * c5 + c5)
    expected += cin * pp + pp
    module = [layer for layer in model.layers if layer.name.startswith("inception_3a_")]
    assert sum(layer.count_params() for layer in module) == expected
    assert model.get_layer("inception_3a").output.shape[1:] == (28, 28, c1 + c3 + c5 + pp)
    assert model.get_layer("inception_5b").output.shape[1:] == (7, 7, 1024)


def test_mobilenet_alpha_thins_every_layer() -> None:
    full = _params("mobilenet", (32, 32, 3), Head(10, "softmax"))
    half = _params("mobilenet", (32, 32, 3), Head(10, "softmax"), alpha=0.5)
    assert half < full / 3  # conv weights scale with alpha squared


def test_digits_resized_for_lenet5() -> None:
    model = build_model(MODELS.get("lenet5").spec(resize=[32, 32]), (8, 8, 1), Head(10, "softmax"))
    assert model.get_layer("c1").output.shape[1:] == (28, 28, 6)


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        (
            "lenet5",
            (8, 8, 1),
            "model lenet5: input 8x8 is too small for its 2 poolings and strided layers: "
            "layer c3 gets 2x2, too small for its 5x5 window (strides 1, padding valid)",
        ),
        (
            "alexnet",
            (32, 32, 3),
            "model alexnet: input 32x32 is too small for its 4 poolings and strided layers: "
            "layer pool2 gets 2x2, too small for its 3x3 window (strides 2, padding valid)",
        ),
        (
            "vgg16",
            (16, 16, 3),
            "model vgg16: input 16x16 is too small for its 5 poolings and strided layers: "
            "it needs at least 32x32",
        ),
        (
            "efficientnet_b0",
            (8, 8, 1),
            "model efficientnet_b0: input 8x8 is too small for its 5 poolings and strided layers: "
            "it needs at least 32x32",
        ),
    ],
)
def test_inputs_too_small_are_refused(name: str, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(BuildError) as info:
        build_model(MODELS.get(name).spec(), shape, Head(10, "softmax"))
    assert info.value.message == message
    assert info.value.hint is not None and "resize" in info.value.hint
    assert info.value.exit_code == 2


def test_classic_nets_refuse_tables() -> None:
    with pytest.raises(BuildError, match=r"model resnet needs image input .* the data has shape \(30,\)"):
        build_model(MODELS.get("resnet").spec(), (30,), Head(2, "softmax"))
