"""Recipe-wide changes to a built model: a penalty on every kernel, a kernel initialiser, and
image augmentation in front of the model (active in training only).

Model specs own their per-layer options (dropout, batch norm, a layer's own L2); the ``train``
section's options here apply to whatever model the registry built, after
:func:`dlkit.models.build_model`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dlkit.errors import BuildError, RecipeError

if TYPE_CHECKING:
    import keras

    from dlkit.training.spec import AugmentSpec, RegularizationSpec


def _layers(model: keras.Model) -> Iterator[Any]:
    # every layer, nested ones (sub-models, RNN cells) included, each once
    yield from model._flatten_layers(include_self=False, recursive=True)


def _kernel_layers(model: keras.Model) -> Iterator[Any]:
    for layer in _layers(model):
        kernel = getattr(layer, "kernel", None) if hasattr(layer, "kernel_regularizer") else None
        if kernel is not None and kernel.trainable:
            yield layer


def _penalties(reg: Any) -> tuple[float, float] | None:
    """``(l1, l2)`` of a Keras L1 / L2 / L1L2 regulariser, None for anything else."""
    if reg is None:
        return 0.0, 0.0
    config = reg.get_config()
    if set(config) <= {"l1", "l2"}:
        return float(config.get("l1", 0.0)), float(config.get("l2", 0.0))
    return None


def apply_regularization(model: keras.Model, spec: RegularizationSpec) -> list[str]:
    """Add ``l1·Σ|W| + l2·ΣW²`` for every kernel to the model's loss (``model.losses``).

    A layer's own L1/L2 penalty (from the model spec) is kept: the two are added.

    Returns:
        The names of the layers that got the penalty.

    Raises:
        BuildError: a layer already has a regulariser that is not L1/L2 (it cannot be combined).
    """
    import keras

    if not spec.l1 and not spec.l2:
        return []
    names = []
    for layer in _kernel_layers(model):
        own = _penalties(layer.kernel_regularizer)
        if own is None:
            raise BuildError(
                f"train.regularization: layer '{layer.name}' already has a "
                f"{type(layer.kernel_regularizer).__name__} regulariser that cannot be combined with L1/L2"
            )
        reg = keras.regularizers.L1L2(l1=own[0] + spec.l1, l2=own[1] + spec.l2)
        layer.kernel_regularizer = reg  # saved with the layer's config
        layer.kernel.regularizer = reg  # read by layer.losses
        names.append(layer.name)
    return names


INITIALIZERS = {
    "he_normal": "HeNormal",
    "he_uniform": "HeUniform",
    "glorot_normal": "GlorotNormal",
    "glorot_uniform": "GlorotUniform",
    "lecun_normal": "LecunNormal",
    "lecun_uniform": "LecunUniform",
}


def apply_initializer(model: keras.Model, name: str, seed: int) -> list[str]:
    """Re-draw every kernel with the named initialiser (He: variance 2/n; Glorot; LeCun: 1/n).

    Seeded per layer, so one recipe gives the same initial weights every time.

    Returns:
        The names of the re-initialised layers.
    """
    import keras

    cls = getattr(keras.initializers, INITIALIZERS[name])
    names = []
    for i, layer in enumerate(_kernel_layers(model)):
        if not hasattr(layer, "kernel_initializer"):
            continue
        init = cls(seed=seed + i)
        layer.kernel.assign(init(tuple(layer.kernel.shape), dtype=layer.kernel.dtype))
        layer.kernel_initializer = init
        names.append(layer.name)
    return names


def augmentation_layers(spec: AugmentSpec, seed: int) -> list[keras.layers.Layer]:
    """Keras's random image layers for the spec, in a fixed order; each is a no-op at inference."""
    import keras

    layers: list[keras.layers.Layer] = []
    if spec.flip:
        layers.append(keras.layers.RandomFlip(spec.flip, seed=seed, name="flip"))
    if spec.rotation:
        layers.append(keras.layers.RandomRotation(spec.rotation, seed=seed + 1, name="rotation"))
    if spec.zoom:
        layers.append(keras.layers.RandomZoom((-spec.zoom, spec.zoom), seed=seed + 2, name="zoom"))
    if spec.translation:
        t = spec.translation
        layers.append(keras.layers.RandomTranslation(t, t, seed=seed + 3, name="translation"))
    if spec.contrast:
        layers.append(keras.layers.RandomContrast(spec.contrast, seed=seed + 4, name="contrast"))
    return layers


def add_augmentation(
    model: keras.Model, spec: AugmentSpec, input_shape: tuple[int, ...], seed: int
) -> keras.Model:
    """Put the augmentation layers in front of ``model``; the result takes the same raw inputs.

    Raises:
        RecipeError: the data are not images `(height, width, channels)`, or nothing is asked.
    """
    import keras

    if len(input_shape) != 3:
        raise RecipeError(
            f"train.augment: image augmentation needs image input (height, width, channels) "
            f"(got examples of shape {tuple(input_shape)})",
            hint="remove train.augment for tables and sequences",
        )
    layers = augmentation_layers(spec, seed)
    if not layers:
        raise RecipeError(
            "train.augment: expected at least one of flip, rotation, zoom, translation, contrast"
        )
    inputs = keras.Input(shape=input_shape, name="inputs")
    augmented = keras.Sequential(layers, name="augment")(inputs)
    return keras.Model(inputs, model(augmented), name=model.name)
