"""Recipe-wide regularisation, initialisers and augmentation applied to a built model."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.errors import RecipeError
from dlkit.training.spec import AugmentSpec, RegularizationSpec


def _mlp(l2: float = 0.0):
    import keras

    keras.utils.set_random_seed(0)
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, kernel_regularizer=reg, name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="output")(x))


def test_elastic_net_on_every_kernel_known_value(tmp_path) -> None:
    import keras

    from dlkit.training.regularize import apply_regularization

    model = _mlp(l2=0.5)  # the model spec's own L2 on "hidden" stays and adds up
    assert apply_regularization(model, RegularizationSpec(l1=0.1, l2=0.2)) == ["hidden", "output"]
    w1 = model.get_layer("hidden").kernel.numpy()
    w2 = model.get_layer("output").kernel.numpy()
    expected = (0.1 * np.abs(w1).sum() + 0.7 * (w1**2).sum()) + (0.1 * np.abs(w2).sum() + 0.2 * (w2**2).sum())
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    # and it is saved with the model
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert float(sum(loaded.losses)) == pytest.approx(expected, rel=1e-5)


def test_zero_penalty_changes_nothing() -> None:
    from dlkit.training.regularize import apply_regularization

    model = _mlp()
    assert apply_regularization(model, RegularizationSpec()) == []
    assert model.losses == []


def test_initializer_redraws_kernels_with_he_variance_seeded() -> None:
    import keras

    from dlkit.training.regularize import apply_initializer

    def big():
        inputs = keras.Input((400,))
        return keras.Model(inputs, keras.layers.Dense(300, kernel_initializer="zeros", name="d")(inputs))

    model = big()
    assert apply_initializer(model, "he_normal", seed=7) == ["d"]
    kernel = model.get_layer("d").kernel.numpy()
    assert kernel.var() == pytest.approx(2 / 400, rel=0.05)  # He: variance 2 / fan_in (truncated normal)
    again = big()
    apply_initializer(again, "he_normal", seed=7)
    np.testing.assert_array_equal(again.get_layer("d").kernel.numpy(), kernel)
    apply_initializer(again, "lecun_uniform", seed=7)
    assert again.get_layer("d").kernel.numpy().var() == pytest.approx(1 / 400, rel=0.05)
    assert type(again.get_layer("d").kernel_initializer).__name__ == "LecunUniform"


def test_augmentation_is_active_in_training_only() -> None:
    import keras

    from dlkit.training.regularize import add_augmentation

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    augmented = add_augmentation(
        model, AugmentSpec(flip="horizontal", rotation=0.2, contrast=0.5), (8, 8, 1), 0
    )
    x = np.random.default_rng(0).uniform(0, 16, size=(16, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(augmented(x, training=False), model(x))
    assert not np.allclose(augmented(x, training=True), model(x))
    assert [layer.name for layer in augmented.get_layer("augment").layers] == ["flip", "rotation", "contrast"]


def test_augmentation_needs_images() -> None:
    from dlkit.training.regularize import add_augmentation

    with pytest.raises(RecipeError) as info:
        add_augmentation(_mlp(), AugmentSpec(flip="horizontal"), (3,), 0)
    assert info.value.message == (
        "train.augment: image augmentation needs image input (height, width, channels) "
        "(got examples of shape (3,))"
    )
