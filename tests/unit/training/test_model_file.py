"""Saving a model's file: Keras's attribute skip sets made once, and the file ``model.save`` writes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from dlkit.training.model_file import remember_skipsets, save_model


def _compiled():  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    normalize = keras.layers.Normalization()
    normalize.adapt(np.arange(12, dtype="float32").reshape(4, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(normalize(inputs)))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC()])
    model.optimizer.build(model.trainable_variables)  # its state is saved too
    for variable in model.optimizer.variables:
        variable.assign(np.full(variable.shape, 0.5, variable.dtype))
    return model


def _arrays(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file, by its path."""
    import h5py

    arrays: dict[str, np.ndarray] = {}

    def keep(key: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            arrays[key] = item[()]

    with h5py.File(path) as weights:
        weights.visititems(keep)
    return arrays


def _contents(path: Path) -> dict[str, object]:
    """Every entry of a ``.keras`` file but its save date; the weights file as its arrays."""
    contents: dict[str, object] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name == "metadata.json":
                continue
            if name.endswith(".h5"):
                folder = path.parent / f"{path.stem}-h5"
                archive.extract(name, folder)
                contents[name] = _arrays(folder / name)
            else:
                contents[name] = archive.read(name)
    return contents


def test_keras_finds_the_skip_sets_it_would_have_made(tmp_path: Path) -> None:
    import keras
    from keras.src.saving.saving_lib import get_attr_skipset

    keras.backend.clear_session()
    made = {kind: set(get_attr_skipset(kind)) for kind in ("Layer", "Metric", "Optimizer")}
    remember_skipsets()
    for kind, expected in made.items():
        found = get_attr_skipset(kind)
        # dunder names aside: the walk skips them before looking here, and dir() lists
        # `__annotations__` only once something has read a class's annotations
        assert {n for n in found if not n.startswith("__")} == {n for n in expected if not n.startswith("__")}
        assert get_attr_skipset(kind) is found  # kept, not made again
    keras.backend.clear_session()  # Keras's global state goes: put back by the next save
    # Keras's own cache misses (made anew on every call); a Keras that fixes it needs none of this
    assert get_attr_skipset("Layer") is not get_attr_skipset("Layer")
    save_model(_compiled(), tmp_path / "m.keras")
    assert get_attr_skipset("Layer") is get_attr_skipset("Layer")


def test_the_file_is_the_one_model_save_writes(tmp_path: Path) -> None:
    import keras

    keras.backend.clear_session()
    model = _compiled()
    model.save(tmp_path / "plain.keras")
    save_model(model, tmp_path / "kept.keras")
    plain, kept = _contents(tmp_path / "plain.keras"), _contents(tmp_path / "kept.keras")
    assert plain.keys() == kept.keys()
    for name, value in plain.items():
        if isinstance(value, dict):
            other = kept[name]
            assert isinstance(other, dict) and value.keys() == other.keys()
            assert all(np.array_equal(value[key], other[key]) for key in value)
        else:
            assert value == kept[name], name
    loaded = keras.saving.load_model(tmp_path / "kept.keras")
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables) > 1
