"""Classic image networks: LeNet-5, AlexNet, VGG16, ResNet, Inception (GoogLeNet), MobileNet,
EfficientNet-B0.

LeNet-5, AlexNet, ResNet and Inception are built here layer by layer (ResNet-50/101/152 mirror
keras.applications' ResNet layer for layer, so their parameter counts are equal); VGG16,
MobileNet v1/v2 and EfficientNet-B0 wrap ``keras.applications`` with ``weights=None`` (never a
download) and ``include_top=False``, then add the same top as keras.applications, so a
224x224x3 input with 1000 classes gives exactly keras.applications' parameter count.

Every classic network takes an optional ``resize: [height, width]``: a Resizing layer in front,
so that e.g. digits' 8x8 images can feed LeNet-5 at 32x32. Inputs too small for a network's
poolings are refused before training with the layer and sizes named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dlkit._spec import Pixels, Spec, Width
from dlkit.models._net import SizeCheck, prepare_image, require_min
from dlkit.models.mlp import Activation
from dlkit.models.registry import Head, output_layer

if TYPE_CHECKING:
    import keras


class _ClassicSpec(Spec):
    example_input: ClassVar[tuple[int, ...]] = (32, 32, 3)
    resize: list[Pixels] | None = Field(
        default=None, description="[height, width]: resize images to this size first."
    )

    @field_validator("resize")
    @classmethod
    def _two_sizes(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 2 or min(value) < 1):
            raise ValueError(f"resize: expected [height, width], two positive integers (got {value})")
        return value


def _dense_head(
    x: keras.KerasTensor, dense: list[int], dropout: float, activation: str, head: Head, names: list[str]
) -> keras.KerasTensor:
    import keras

    for i, units in enumerate(dense):
        x = keras.layers.Dense(
            units, activation=activation, name=names[i] if i < len(names) else f"fc{i + 1}"
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"{names[i] if i < len(names) else f'fc{i + 1}'}_dropout")(
                x
            )
    return output_layer(head)(x)


# --- LeNet-5 ----------------------------------------------------------------------------------


class LeNet5Spec(_ClassicSpec):
    """LeNet-5 (LeCun et al., 1998): 6@5x5, pool, 16@5x5, pool, 120, 84, classes; 32x32 input."""

    type: Literal["lenet5"] = "lenet5"
    example_input: ClassVar[tuple[int, ...]] = (32, 32, 1)
    activation: Activation = Field(default="tanh", description="tanh, as in the original.")
    pool: Literal["average", "max"] = Field(default="average", description="average, as in the original.")


def build_lenet5(spec: LeNet5Spec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    x, size = prepare_image("lenet5", x, spec.resize)
    net = SizeCheck("lenet5", size, reductions=2, nominal=32)
    pool = keras.layers.AveragePooling2D if spec.pool == "average" else keras.layers.MaxPooling2D
    net.check("c1", x, 5)
    x = keras.layers.Conv2D(6, 5, activation=spec.activation, name="c1")(x)
    net.check("s2", x, 2, 2)
    x = pool(2, name="s2")(x)
    net.check("c3", x, 5)
    x = keras.layers.Conv2D(16, 5, activation=spec.activation, name="c3")(x)
    net.check("s4", x, 2, 2)
    x = pool(2, name="s4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=spec.activation, name="c5")(x)
    x = keras.layers.Dense(84, activation=spec.activation, name="f6")(x)
    return output_layer(head)(x)


# --- AlexNet ----------------------------------------------------------------------------------


class AlexNetSpec(_ClassicSpec):
    """AlexNet (Krizhevsky et al., 2012), one tower: 96@11x11/4, 256@5x5, 384, 384, 256; 227x227."""

    type: Literal["alexnet"] = "alexnet"
    example_input: ClassVar[tuple[int, ...]] = (67, 67, 3)
    dense: list[Width] = Field(default_factory=lambda: [4096, 4096], description="Fully connected widths.")
    dropout: float = Field(default=0.5, ge=0, lt=1, description="After each fully connected layer.")
    batch_norm: bool = Field(default=False, description="Batch norm after each conv (in place of LRN).")


def build_alexnet(spec: AlexNetSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    x, size = prepare_image("alexnet", x, spec.resize)
    net = SizeCheck("alexnet", size, reductions=4, nominal=227)

    def conv(x: Any, filters: int, kernel: int, name: str, strides: int = 1, padding: str = "same") -> Any:
        net.check(name, x, kernel, strides, padding)
        x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, name=name)(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        return keras.layers.Activation("relu", name=f"{name}_relu")(x)

    def pool(x: Any, name: str) -> Any:
        net.check(name, x, 3, 2)
        return keras.layers.MaxPooling2D(3, strides=2, name=name)(x)

    x = conv(x, 96, 11, "conv1", strides=4, padding="valid")
    x = pool(x, "pool1")
    x = conv(x, 256, 5, "conv2")
    x = pool(x, "pool2")
    x = conv(x, 384, 3, "conv3")
    x = conv(x, 384, 3, "conv4")
    x = conv(x, 256, 3, "conv5")
    x = pool(x, "pool5")
    x = keras.layers.Flatten(name="flatten")(x)
    return _dense_head(x, spec.dense, spec.dropout, "relu", head, ["fc6", "fc7"])


# --- VGG16 ------------------------------------------------------------------------------------


class VGG16Spec(_ClassicSpec):
    """VGG16 (Simonyan and Zisserman, 2014), keras.applications' layers and top."""

    type: Literal["vgg16"] = "vgg16"
    dense: list[Width] = Field(default_factory=lambda: [4096, 4096], description="fc1, fc2 widths.")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="After fc1 and fc2 (keras has none).")
    global_pool: bool = Field(default=False, description="Global average pooling instead of flatten.")


def build_vgg16(spec: VGG16Spec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    x, size = prepare_image("vgg16", x, spec.resize)
    require_min("vgg16", size, 32, 5, 224)
    base = keras.applications.VGG16(
        include_top=False, weights=None, input_tensor=x, input_shape=tuple(x.shape[1:])
    )
    x = base.output
    if spec.global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    return _dense_head(x, spec.dense, spec.dropout, "relu", head, ["fc1", "fc2"])


# --- ResNet -----------------------------------------------------------------------------------

_RESNET_BLOCKS = {
    18: [2, 2, 2, 2],
    34: [3, 4, 6, 3],
    50: [3, 4, 6, 3],
    101: [3, 4, 23, 3],
    152: [3, 8, 36, 3],
}
_BN_EPS = 1.001e-5  # keras.applications' value


class ResNetSpec(_ClassicSpec):
    """ResNet v1 (He et al., 2015): 18/34 from basic blocks, 50/101/152 from bottleneck blocks.

    Shortcuts are identities, or 1x1 projections (with batch norm) where the size or the
    number of channels changes.
    """

    type: Literal["resnet"] = "resnet"
    depth: Literal[18, 34, 50, 101, 152] = 50
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Before the output layer.")


def build_resnet(spec: ResNetSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    layers = keras.layers
    x, size = prepare_image("resnet", x, spec.resize)
    net = SizeCheck("resnet", size, reductions=5, nominal=224)
    bottleneck = spec.depth >= 50

    def conv_bn(x: Any, filters: int, kernel: int, name: str, strides: int = 1, relu: bool = True) -> Any:
        padding = "valid" if kernel == 1 else "same"
        net.check(f"{name}_conv", x, kernel, strides, padding)
        x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(axis=-1, epsilon=_BN_EPS, name=f"{name}_bn")(x)
        return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x

    def block(x: Any, filters: int, strides: int, name: str) -> Any:
        out_channels = filters * 4 if bottleneck else filters
        if strides != 1 or int(x.shape[-1]) != out_channels:
            shortcut = conv_bn(x, out_channels, 1, f"{name}_0", strides=strides, relu=False)
        else:
            shortcut = x
        if bottleneck:
            # the stride sits on the first 1x1 convolution, as in keras.applications' ResNet
            y = conv_bn(x, filters, 1, f"{name}_1", strides=strides)
            y = conv_bn(y, filters, 3, f"{name}_2")
            y = conv_bn(y, out_channels, 1, f"{name}_3", relu=False)
        else:
            y = conv_bn(x, filters, 3, f"{name}_1", strides=strides)
            y = conv_bn(y, filters, 3, f"{name}_2", relu=False)
        y = layers.Add(name=f"{name}_add")([shortcut, y])
        return layers.Activation("relu", name=f"{name}_out")(y)

    x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
    net.check("conv1_conv", x, 7, 2)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=_BN_EPS, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    net.check("pool1_pool", x, 3, 2)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, n_blocks) in enumerate(
        zip((64, 128, 256, 512), _RESNET_BLOCKS[spec.depth], strict=True)
    ):
        for b in range(n_blocks):
            strides = 2 if b == 0 and stage > 0 else 1
            x = block(x, filters, strides, f"conv{stage + 2}_block{b + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="top_dropout")(x)
    return output_layer(head)(x)


# --- Inception (GoogLeNet) --------------------------------------------------------------------

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) of Szegedy et al. (2014), table 1
INCEPTION_MODULES: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


class InceptionSpec(_ClassicSpec):
    """GoogLeNet (Szegedy et al., 2014): nine Inception modules with 1x1 reductions, no aux heads.

    Each module runs 1x1, 1x1 -> 3x3, 1x1 -> 5x5 and 3x3 max pool -> 1x1 side by side and
    concatenates them; the 1x1 reductions keep the 3x3 and 5x5 convolutions cheap.
    """

    type: Literal["inception"] = "inception"
    width: float = Field(default=1.0, gt=0, le=4, description="Multiplier on every module's filters.")
    dropout: float = Field(default=0.4, ge=0, lt=1, description="Before the output layer (0.4 originally).")
    batch_norm: bool = Field(default=False, description="Batch norm after every conv (Inception v2 style).")


def build_inception(spec: InceptionSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    layers = keras.layers
    x, size = prepare_image("inception", x, spec.resize)
    net = SizeCheck("inception", size, reductions=5, nominal=224)

    def conv(x: Any, filters: int, kernel: int, name: str, strides: int = 1) -> Any:
        net.check(name, x, kernel, strides, "same")
        filters = max(1, round(filters * spec.width))
        x = layers.Conv2D(
            filters, kernel, strides=strides, padding="same", use_bias=not spec.batch_norm, name=name
        )(x)
        if spec.batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.Activation("relu", name=f"{name}_relu")(x)

    def pool(x: Any, name: str) -> Any:
        return layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)

    def module(x: Any, name: str) -> Any:
        c1, r3, c3, r5, c5, pp = INCEPTION_MODULES[name]
        b1 = conv(x, c1, 1, f"inception_{name}_1x1")
        b3 = conv(conv(x, r3, 1, f"inception_{name}_3x3_reduce"), c3, 3, f"inception_{name}_3x3")
        b5 = conv(conv(x, r5, 1, f"inception_{name}_5x5_reduce"), c5, 5, f"inception_{name}_5x5")
        bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"inception_{name}_pool")(x)
        bp = conv(bp, pp, 1, f"inception_{name}_pool_proj")
        return layers.Concatenate(name=f"inception_{name}")([b1, b3, b5, bp])

    x = conv(x, 64, 7, "conv1_7x7", strides=2)
    x = pool(x, "pool1")
    x = conv(x, 64, 1, "conv2_3x3_reduce")
    x = conv(x, 192, 3, "conv2_3x3")
    x = pool(x, "pool2")
    for name in ("3a", "3b"):
        x = module(x, name)
    x = pool(x, "pool3")
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = module(x, name)
    x = pool(x, "pool4")
    for name in ("5a", "5b"):
        x = module(x, name)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="top_dropout")(x)
    return output_layer(head)(x)


# --- MobileNet --------------------------------------------------------------------------------


class MobileNetSpec(_ClassicSpec):
    """MobileNet v1 (depthwise-separable convolutions, width multiplier ``alpha``) or v2
    (inverted residuals with linear bottlenecks), from keras.applications."""

    type: Literal["mobilenet"] = "mobilenet"
    version: Literal[1, 2] = 1
    alpha: float = Field(default=1.0, gt=0, le=4, description="Width multiplier on every layer's filters.")
    depth_multiplier: int = Field(default=1, ge=1, description="Depthwise multiplier (v1 only).")
    dropout: float = Field(
        default=1e-3, ge=0, lt=1, description="Before the output layer (v1 only, as keras)."
    )

    @model_validator(mode="after")
    def _v1_only(self) -> MobileNetSpec:
        if self.version == 2 and self.depth_multiplier != 1:
            raise ValueError("depth_multiplier: only MobileNet v1 has a depth multiplier")
        return self


def build_mobilenet(spec: MobileNetSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    x, size = prepare_image("mobilenet", x, spec.resize)
    require_min("mobilenet", size, 32, 5, 224)
    shape = tuple(x.shape[1:])
    if spec.version == 1:
        base = keras.applications.MobileNet(
            include_top=False,
            weights=None,
            input_tensor=x,
            input_shape=shape,
            alpha=spec.alpha,
            depth_multiplier=spec.depth_multiplier,
        )
    else:
        base = keras.applications.MobileNetV2(
            include_top=False, weights=None, input_tensor=x, input_shape=shape, alpha=spec.alpha
        )
    x = keras.layers.GlobalAveragePooling2D(name="global_average_pooling")(base.output)
    if spec.version == 1 and spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    return output_layer(head)(x)


# --- EfficientNet-B0 --------------------------------------------------------------------------


class EfficientNetB0Spec(_ClassicSpec):
    """EfficientNet-B0 (Tan and Le, 2019): MBConv blocks with squeeze-and-excitation, from
    keras.applications (which rescales by 1/255 and normalises inside the network)."""

    type: Literal["efficientnet_b0"] = "efficientnet_b0"
    dropout: float = Field(default=0.2, ge=0, lt=1, description="Before the output layer.")


def build_efficientnet_b0(spec: EfficientNetB0Spec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    x, size = prepare_image("efficientnet_b0", x, spec.resize)
    require_min("efficientnet_b0", size, 32, 5, 224)
    base = keras.applications.EfficientNetB0(
        include_top=False,
        weights=None,
        input_tensor=x,
        input_shape=tuple(x.shape[1:]),
    )
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="top_dropout")(x)
    return output_layer(head)(x)
