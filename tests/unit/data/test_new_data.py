"""Sources reading new data for a trained model (``labels="required"`` / ``"optional"``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlkit.data.images import ImageFolderSource
from dlkit.data.sources import CsvSource, load_source
from dlkit.data.text import TextSource
from dlkit.errors import DataError


def test_a_table_without_its_target_loads_unlabelled_with_the_trained_features(workdir: Path) -> None:
    pd.DataFrame({"k": ["a", "b", "c"], "extra": [9, 9, 9], "x2": [1.0, 2.0, 3.0], "x1": [4, 5, 6]}).to_csv(
        workdir / "new.csv", index=False
    )
    spec = CsvSource(path="new.csv", target="y", id_column="k", features=["x1", "x2"], classes=["no", "yes"])
    data = load_source(spec, "binary", workdir, labels="optional")
    assert not data.labelled and data.task == "binary" and data.classes == ["no", "yes"]
    assert data.x.tolist() == [[4, 1], [5, 2], [6, 3]] and data.y.tolist() == [0, 0, 0]
    assert data.ids.tolist() == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"no target column 'y'"):
        load_source(spec, "binary", workdir, labels="required")
    spec = spec.model_copy(update={"features": ["x1", "x3"]})
    with pytest.raises(DataError, match=r"new.csv: no feature column 'x3'"):
        load_source(spec, "binary", workdir, labels="optional")


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)


def test_new_image_folders_keep_the_trained_class_indices(workdir: Path) -> None:
    _png(workdir / "lab" / "dog" / "1.png")  # only the second class present
    spec = ImageFolderSource(path="lab", image_size=(4, 4), classes=["cat", "dog", "owl"])
    data = load_source(spec, "multiclass", workdir, labels="required")
    assert data.labelled and data.classes == ["cat", "dog", "owl"] and data.y.tolist() == [1]
    _png(workdir / "flat" / "a.png")
    _png(workdir / "flat" / "more" / "b.png")
    flat = load_source(
        spec.model_copy(update={"path": Path("flat")}), "multiclass", workdir, labels="optional"
    )
    assert not flat.labelled and flat.ids.tolist() == ["a.png", "more/b.png"]
    (workdir / "none").mkdir()
    with pytest.raises(DataError, match=r"none: no images$"):
        load_source(spec.model_copy(update={"path": Path("none")}), "multiclass", workdir, labels="optional")


def test_text_uses_the_stored_vocabulary_instead_of_adapting(workdir: Path) -> None:
    pd.DataFrame({"t": ["good film", "bad film", "good good"], "y": ["p", "n", "p"]}).to_csv(
        workdir / "train.csv", index=False
    )
    spec = TextSource(path="train.csv", text="t", target="y", output_sequence_length=3)
    trained = load_source(spec, None, workdir)
    trained.prepare(np.arange(3))
    pd.DataFrame({"t": ["Film GOOD unseen"]}).to_csv(workdir / "new.csv", index=False)
    new = load_source(
        spec.model_copy(update={"path": Path("new.csv"), "classes": ["n", "p"]}),
        "binary",
        workdir,
        labels="optional",
    )
    new.use_vocabulary(trained.vocabulary)
    index = {t: i for i, t in enumerate(trained.vocabulary)}
    assert new.vocabulary == trained.vocabulary and not new.labelled
    assert new.x.tolist() == [[index["film"], index["good"], 1]]  # 1: out of vocabulary
