"""A regression head's un-scaling layer: inside the model, through save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.models import MODELS, Head, build_model


def test_scaled_head_outputs_the_standardised_output_in_the_targets_units(tmp_path: Path) -> None:
    import keras

    spec = MODELS.get("mlp").spec(units=[3])
    model = build_model(spec, (2,), Head(1, "linear", scale=(1.0e4, 2.0e3)))
    assert model.layers[-1].name == "target_scale"
    x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    standardised = keras.Model(model.inputs, model.get_layer("output").output)
    expected = keras.ops.convert_to_numpy(standardised(x)) * 2.0e3 + 1.0e4
    assert keras.ops.convert_to_numpy(model(x)) == pytest.approx(expected, rel=1e-6)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert keras.ops.convert_to_numpy(again(x)) == pytest.approx(expected, rel=1e-6)
    assert build_model(spec, (2,), Head(1, "linear")).layers[-1].name == "output"
