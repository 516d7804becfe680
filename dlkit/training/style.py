"""Neural style transfer: an image optimised with Adam to take one image's content and
another's style, as seen by the convolutional layers of a base network.

The costs are those of :mod:`dlkit.analysis.style` (the NumPy reference), here in TensorFlow:
``J = α·J_content + β·Σ_l λ_l·J_style^l (+ γ·TV)``, the content cost on one layer, the style
cost from Gram matrices over several layers with weights. The generated image ``G`` (pixels in
[0, 1]) starts from the content image, with noise mixed in, or from noise alone, and is clipped
to [0, 1] after every Adam step.

The base network never comes from a download:

- a dlkit run (``--base RUN``): its model's convolutional layers, applied to images of any size
  (its normalisation layer included: it takes pixels in [0, 255], as dlkit's image sources);
- a Keras model file (``.keras``, or a whole model in ``.h5``), taking pixels in [0, 255];
- a VGG-19 weights file (``keras.applications.VGG19(weights=FILE, include_top=False)``), with
  VGG's own preprocessing; its default layers are the course's (content ``block5_conv4``,
  style ``block1_conv1`` ... ``block5_conv1``, 0.2 each).

Other bases default to the last convolution for content and every convolution, equally
weighted, for style.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dlkit.errors import DataError, RecipeError

log = logging.getLogger(__name__)

VGG_CONTENT = "block5_conv4"
VGG_STYLE = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
SAMPLE_PREFIX = "sklearn:"  # sklearn:china.jpg, sklearn:flower.jpg (scikit-learn's sample images)
SAMPLE_IMAGES = ("china.jpg", "flower.jpg")


@dataclass
class StyleOptions:
    """How the image is optimised.

    Attributes:
        content_layer: the layer whose activations carry the content (None: the base's default).
        style_layers: ``(layer, weight λ_l)`` pairs (None: the base's default).
        alpha: weight of the content cost.
        beta: weight of the style cost.
        tv_weight: γ, weight of the total variation (0: none).
        steps: Adam steps.
        learning_rate: Adam's, on pixels in [0, 1].
        init: start from the ``content`` image (with ``noise`` mixed in) or from ``noise`` alone.
        noise: share of uniform noise mixed into the content image at the start.
        size: the longest side the content image is resized to (the style image takes its size).
        save_every: write the image every this many steps (0: only the final one).
        seed: seeds the noise.
    """

    content_layer: str | None = None
    style_layers: list[tuple[str, float]] | None = None
    alpha: float = 10.0
    beta: float = 40.0
    tv_weight: float = 0.0
    steps: int = 200
    learning_rate: float = 0.01
    init: Literal["content", "noise"] = "content"
    noise: float = 0.2
    size: int = 128
    save_every: int = 20
    seed: int = 0


@dataclass
class StepCosts:
    """The costs of the image after ``step`` Adam steps (step 0: the starting image)."""

    step: int
    total: float
    content: float
    style: float
    tv: float


@dataclass
class StyleTransferResult:
    """What a style transfer wrote and how its cost went.

    Attributes:
        out_dir: the folder: ``result.png``, ``steps/step_<k>.png``, ``costs.csv``.
        image: the final image's path.
        costs: the costs of the starting image (step 0) and after every step.
        base: what the base network was, in words.
        content_layer: the content layer used.
        style_layers: the style layers and their weights.
        run_id: the MLflow run it was logged to (None with no tracking).
        tracking_uri: the store.
    """

    out_dir: Path
    image: Path
    costs: list[StepCosts]
    base: str
    content_layer: str
    style_layers: list[tuple[str, float]]
    run_id: str | None = None
    tracking_uri: str | None = None
    steps_written: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "image": str(self.image),
            "base": self.base,
            "content_layer": self.content_layer,
            "style_layers": [{"layer": n, "weight": w} for n, w in self.style_layers],
            "costs": [vars(c) for c in self.costs],
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
        }


# -- the costs (TensorFlow forms of dlkit.analysis.style) -------------------------------------


def gram_matrix(a: Any) -> Any:
    """``A Aᵀ`` `(nC, nC)` of activations `(1, nH, nW, nC)` or `(nH, nW, nC)`."""
    import tensorflow as tf

    unrolled = tf.reshape(a, (-1, tf.shape(a)[-1]))  # (nH·nW, nC)
    return tf.matmul(unrolled, unrolled, transpose_a=True)


def content_cost(a_c: Any, a_g: Any) -> Any:
    """``1 / (4·nH·nW·nC) · Σ (a_C − a_G)²``."""
    import tensorflow as tf

    size = tf.cast(tf.size(a_c), tf.float32)
    return tf.reduce_sum(tf.square(a_c - a_g)) / (4.0 * size)


def layer_style_cost(a_s: Any, a_g: Any) -> Any:
    """``1 / (4·nC²·(nH·nW)²) · Σ (G_S − G_G)²``."""
    import tensorflow as tf

    n_c = tf.cast(tf.shape(a_s)[-1], tf.float32)
    n_hw = tf.cast(tf.size(a_s), tf.float32) / n_c
    return tf.reduce_sum(tf.square(gram_matrix(a_s) - gram_matrix(a_g))) / (4.0 * n_c**2 * n_hw**2)


def total_variation(image: Any) -> Any:
    """Sum of absolute differences of neighbouring pixels `(H, W, C)` or `(1, H, W, C)`."""
    import tensorflow as tf

    x = tf.reshape(image, tf.shape(image)[-3:])
    return tf.reduce_sum(tf.abs(x[1:] - x[:-1])) + tf.reduce_sum(tf.abs(x[:, 1:] - x[:, :-1]))


# -- the base network --------------------------------------------------------------------------


@dataclass
class Base:
    """A base network's layers as one feature model, and how it takes pixels.

    Attributes:
        model: the base as loaded.
        description: for messages and MLflow.
        vgg: VGG's preprocessing (BGR, mean subtracted) instead of pixels in [0, 255].
    """

    model: Any
    description: str
    vgg: bool = False

    @property
    def channels(self) -> int:
        return int(self.model.inputs[0].shape[-1])

    def conv_layers(self) -> list[str]:
        import keras

        return [layer.name for layer in self.model.layers if isinstance(layer, keras.layers.Conv2D)]

    def layers(self, options: StyleOptions) -> tuple[str, list[tuple[str, float]]]:
        """The content layer and the weighted style layers: the options', else the defaults.

        Raises:
            RecipeError: a named layer is not a convolution of the base, or no convolution at all.
        """
        convs = self.conv_layers()
        if not convs:
            raise RecipeError(f"--base: {self.description} has no convolutional layer to take style from")
        vgg_names = VGG_CONTENT in convs and all(n in convs for n in VGG_STYLE)
        content = options.content_layer or (VGG_CONTENT if vgg_names else convs[-1])
        if options.style_layers:
            style = list(options.style_layers)
        elif vgg_names:
            style = [(n, 1.0 / len(VGG_STYLE)) for n in VGG_STYLE]
        else:
            style = [(n, 1.0 / len(convs)) for n in convs]
        from dlkit._naming import did_you_mean

        for name in (content, *(n for n, _ in style)):
            if name not in convs:
                raise RecipeError(
                    f"--content-layer/--style-layer: '{name}' is not a convolution of {self.description}; "
                    f"expected one of {', '.join(convs)}.{did_you_mean(name, convs)}"
                )
        return content, style

    def features(self, names: list[str]) -> Any:
        """A model from an image `(1, H, W, C)` (any size where the base allows) to the named
        layers' activations, in ``names`` order."""
        import keras

        model = self.model
        wanted = set(names)
        try:
            # a chain of layers (dlkit's cnn, VGG): rebuilt on an input of any height and width
            x = inputs = keras.Input(shape=(None, None, self.channels))
            found: dict[str, Any] = {}
            for layer in model.layers:
                if isinstance(layer, keras.layers.InputLayer):
                    continue
                x = layer(x)
                if layer.name in wanted:
                    found[layer.name] = x
                if len(found) == len(wanted):
                    break
            return keras.Model(inputs, [found[n] for n in names])
        except Exception:  # a graph with branches (resnet): its own fixed input size
            log.debug("base is not a chain of layers; using its own input size", exc_info=True)
            return keras.Model(model.inputs, [model.get_layer(n).output for n in names])

    def pixels(self, image: Any) -> Any:
        """What the base takes from an image in [0, 1]."""
        if self.vgg:
            import keras

            return keras.applications.vgg19.preprocess_input(image * 255.0)
        return image * 255.0


def load_base(base: str, resolve_run: Callable[[str], Path] | None = None) -> Base:
    """The base network from a model file, a VGG-19 weights file, or a dlkit run.

    Args:
        base: a path to a ``.keras``/``.h5`` model or VGG-19 weights, or a run (directory,
            name, MLflow run id or name).
        resolve_run: a run reference -> its model file (the API passes its own).

    Raises:
        RecipeError: a file that is neither a Keras model nor VGG-19 weights.
        RunNotFoundError: no such file and no such run.
    """
    import keras

    from dlkit.models.registry import load_model

    path = Path(base).expanduser()
    if path.is_file():
        try:
            return Base(load_model(path), f"model file {path}")
        except Exception as model_error:
            try:
                vgg = keras.applications.VGG19(
                    include_top=False, weights=str(path), input_shape=(None, None, 3)
                )
            except Exception:
                raise RecipeError(
                    f"--base: {path}: neither a Keras model nor VGG-19 weights (as a model: {model_error})",
                    hint="give a .keras model, a VGG-19 weights file (include_top=False), or a dlkit run",
                ) from None
            return Base(vgg, f"VGG-19 weights {path}", vgg=True)
    if resolve_run is None:
        raise RecipeError(f"--base: {base}: no such file")
    model_path = resolve_run(base)
    if not model_path.is_file():
        raise RecipeError(f"--base: run '{base}' has no trained model ({model_path})")
    return Base(load_model(model_path), f"run {base}")


def read_image(ref: str, channels: int, size: tuple[int, int] | int) -> np.ndarray:
    """An image file, or ``sklearn:china.jpg`` / ``sklearn:flower.jpg``, as `(H, W, channels)`
    in [0, 1]: resized so its longest side is ``size`` (an int), or to ``(height, width)``.

    Raises:
        DataError: a missing file, one that is not an image, or an unknown sample image.
    """
    from PIL import Image

    if ref.startswith(SAMPLE_PREFIX):
        from sklearn.datasets import load_sample_image

        name = ref[len(SAMPLE_PREFIX) :]
        if name not in SAMPLE_IMAGES:
            raise DataError(f"{ref}: not one of scikit-learn's sample images ({', '.join(SAMPLE_IMAGES)})")
        image = Image.fromarray(load_sample_image(name))
    else:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise DataError(f"{ref}: image not found")
        try:
            image = Image.open(path)
            image.load()
        except Exception:
            raise DataError(f"{ref}: not an image Pillow can read (PNG, JPEG, ...)") from None
    image = image.convert("RGB" if channels == 3 else "L")
    if isinstance(size, int):
        scale = size / max(image.size)
        width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    else:
        height, width = size
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    return (np.asarray(resized, dtype=np.float32) / 255.0).reshape(height, width, channels)


def save_image(image: np.ndarray, path: Path) -> None:
    """A `(H, W, C)` image in [0, 1] as a PNG (grey for one channel)."""
    from PIL import Image

    pixels = np.clip(np.round(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(path)


def transfer_style(
    base: Base,
    content: np.ndarray,
    style: np.ndarray,
    options: StyleOptions,
    out_dir: Path,
    on_step: Callable[[StepCosts], None] | None = None,
) -> StyleTransferResult:
    """Optimise an image with Adam from ``content``'s content and ``style``'s style; write it,
    its intermediate steps and the costs to ``out_dir``.

    Args:
        base: the base network.
        content: `(H, W, C)` in [0, 1], C the base's channels.
        style: the same shape.
        options: layers, weights, steps.
        out_dir: where ``result.png``, ``steps/step_<k>.png`` and ``costs.csv`` go.
        on_step: called with the costs after every step.
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    content_layer, style_layers = base.layers(options)
    names = list(dict.fromkeys([content_layer, *(n for n, _ in style_layers)]))
    features = base.features(names)
    fixed = tuple(int(d) for d in features.inputs[0].shape[1:3] if d is not None)
    if len(fixed) == 2 and fixed != content.shape[:2]:
        # a base with its own input size: the images take it
        content = tf.image.resize(content, fixed).numpy()
        style = tf.image.resize(style, fixed).numpy()
    at = {n: i for i, n in enumerate(names)}

    def activations(image: Any) -> list[Any]:
        out = features(base.pixels(image[None]), training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    a_c = activations(tf.constant(content))[at[content_layer]]
    a_s_all = activations(tf.constant(style))
    a_s = [a_s_all[at[n]] for n, _ in style_layers]
    weights = [float(w) for _, w in style_layers]
    rng = np.random.default_rng(options.seed)
    noise = rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
    start = noise if options.init == "noise" else (1 - options.noise) * content + options.noise * noise
    generated = tf.Variable(np.clip(start, 0.0, 1.0).astype(np.float32))
    optimizer = keras.optimizers.Adam(learning_rate=options.learning_rate)

    def costs(image: Any) -> tuple[Any, Any, Any, Any]:
        out = activations(image)
        j_content = content_cost(a_c, out[at[content_layer]])
        j_style = tf.add_n(
            [
                w * layer_style_cost(s, out[at[n]])
                for (n, _), s, w in zip(style_layers, a_s, weights, strict=True)
            ]
        )
        tv = total_variation(image)
        total = options.alpha * j_content + options.beta * j_style + options.tv_weight * tv
        return total, j_content, j_style, tv

    @tf.function
    def step() -> tuple[Any, Any, Any, Any]:
        with tf.GradientTape() as tape:
            total, _, _, _ = costs(generated)
        optimizer.apply_gradients([(tape.gradient(total, generated), generated)])
        generated.assign(tf.clip_by_value(generated, 0.0, 1.0))
        return costs(generated)

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def record(k: int, values: tuple[Any, Any, Any, Any]) -> StepCosts:
        total, j_c, j_s, tv = (float(v) for v in values)
        return StepCosts(k, total, j_c, j_s, tv)

    history = [record(0, costs(generated))]
    if options.save_every:
        written.append(out_dir / "steps" / "step_0000.png")
        save_image(generated.numpy(), written[-1])
    for k in range(1, options.steps + 1):
        entry = record(k, step())
        history.append(entry)
        if on_step is not None:
            on_step(entry)
        if options.save_every and (k % options.save_every == 0 or k == options.steps):
            written.append(out_dir / "steps" / f"step_{k:04d}.png")
            save_image(generated.numpy(), written[-1])
    image_path = out_dir / "result.png"
    save_image(generated.numpy(), image_path)
    pd.DataFrame([vars(c) for c in history]).to_csv(out_dir / "costs.csv", index=False)
    return StyleTransferResult(
        out_dir=out_dir,
        image=image_path,
        costs=history,
        base=base.description,
        content_layer=content_layer,
        style_layers=style_layers,
        steps_written=written,
    )
