"""The TensorFlow style-transfer costs against the NumPy reference; layer choice of a base."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis import style as reference
from dlkit.errors import RecipeError


def test_tensorflow_costs_match_the_reference() -> None:
    from dlkit.training import style

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 5, 4)).astype("float32")
    image = rng.uniform(size=(6, 7, 3)).astype("float32")
    assert np.allclose(style.gram_matrix(a[None]).numpy(), reference.gram_matrix(a), rtol=1e-5)
    assert float(style.content_cost(a[None], b[None])) == pytest.approx(
        reference.content_cost(a, b), rel=1e-5
    )
    assert float(style.layer_style_cost(a[None], b[None])) == pytest.approx(
        reference.layer_style_cost(a, b), rel=1e-5
    )
    assert float(style.total_variation(image[None])) == pytest.approx(
        reference.total_variation(image), rel=1e-5
    )


def _base() -> object:
    import keras

    from dlkit.training.style import Base

    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, name="c1")(inputs)
    x = keras.layers.Conv2D(4, 3, name="c2")(x)
    return Base(keras.Model(inputs, x), "model file tiny.keras")


def test_default_layers_and_a_wrong_name() -> None:
    from dlkit.training.style import StyleOptions

    base = _base()
    assert base.layers(StyleOptions()) == ("c2", [("c1", 0.5), ("c2", 0.5)])
    assert base.layers(StyleOptions(content_layer="c1", style_layers=[("c2", 1.0)])) == ("c1", [("c2", 1.0)])
    with pytest.raises(RecipeError) as caught:
        base.layers(StyleOptions(content_layer="c3"))
    assert str(caught.value) == (
        "--content-layer/--style-layer: 'c3' is not a convolution of model file tiny.keras; "
        "expected one of c1, c2."
    )
