"""A trial's model saved while the next one trains: written whole, waited for by its readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.data.sources import load_source
from dlkit.data.split import split_dataset
from dlkit.errors import DlkitError
from dlkit.recipe.loader import validate_recipe
from dlkit.rundir import RunDir
from dlkit.tuning._model_writer import ModelWriter
from dlkit.tuning.trial import StudyData, train_trial

RECIPE = {
    "name": "writer",
    "seed": 0,
    "data": {
        "source": {"type": "sklearn", "name": "digits"},
        "split": {"train": 0.6, "train_dev": 0.1, "dev": 0.15, "test": 0.15},
    },
    "model": {"type": "mlp", "units": [8]},
    "train": {"epochs": 1, "batch_size": 256},
}


def _model():
    import keras

    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_a_deferred_model_is_written_whole_once_waited_for(workdir: Path) -> None:
    import keras

    writer = ModelWriter()
    first, second = _model(), _model()
    for folder in ("a", "b"):
        (workdir / folder).mkdir()
    writer.defer(first, workdir / "a" / "model.keras")
    writer.start()
    writer.defer(second, workdir / "b" / "model.keras")  # the first is finished before
    assert not (workdir / "b" / "model.keras").exists()
    writer.wait()  # not started: saved here
    for model, folder in ((first, "a"), (second, "b")):
        loaded = keras.saving.load_model(workdir / folder / "model.keras")
        assert all(map(np.array_equal, loaded.get_weights(), model.get_weights()))
        assert [p.name for p in (workdir / folder).iterdir()] == ["model.keras"]  # no partial file


def test_a_failed_save_is_raised_by_the_next_wait_not_over_another_error(workdir: Path) -> None:
    writer = ModelWriter()
    path = workdir / "missing-folder" / "model.keras"
    writer.defer(_model(), path)
    writer.start()
    writer.wait(raise_error=False)  # an interrupted trial: its own error goes first
    with pytest.raises(DlkitError) as info:
        writer.wait()
    assert info.value.message.startswith(f"cannot save the model {path}: ")
    writer.wait()  # raised once
    assert not path.parent.exists()


@pytest.mark.slow
def test_a_promotion_from_a_model_still_waiting_to_be_saved_trains_as_without_the_writer(
    workdir: Path,
) -> None:
    recipe = validate_recipe(RECIPE, "writer", workdir)
    data = load_source(recipe.data.source, recipe.data.task, workdir)
    study = StudyData(data, split_dataset(data, recipe.data.split, recipe.seed))

    def pair(folder: str, writer: ModelWriter | None) -> tuple[dict, dict]:
        parent = RunDir(workdir / folder / "parent")
        first = train_trial(recipe, study, parent, writer=writer)
        assert writer is None or not parent.model_path.exists()  # deferred
        promoted = train_trial(
            recipe, study, RunDir(workdir / folder / "promoted"), warm_start=parent.model_path, writer=writer
        )
        if writer is not None:
            writer.wait()
        return first.metrics, promoted.metrics

    direct = pair("direct", None)
    # the promotion has the parent's recipe and seed: only its start from the parent's weights
    # makes it differ (a promotion that missed its parent's file would train as the parent did)
    assert direct[1] != direct[0]
    assert pair("deferred", ModelWriter()) == direct
    assert (workdir / "deferred" / "promoted" / "model" / "model.keras").is_file()
