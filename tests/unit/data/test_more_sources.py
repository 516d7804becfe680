"""npz, sequence, image-folder and text sources; streamed tables; their error lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlkit.data.arrays import NpzSource, SequenceSource
from dlkit.data.images import ImageFolderSource
from dlkit.data.sources import CsvSource, ParquetSource, load_source
from dlkit.data.split import SplitSpec, split_dataset
from dlkit.data.text import TextSource
from dlkit.errors import DataError


def _message(spec: object, folder: Path, columns: tuple = ()) -> str:
    with pytest.raises(DataError) as info:
        load_source(spec, None, folder, columns)
    return info.value.message


def test_npz_tables_sequences_and_images(workdir: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(workdir / "t.npz", x=rng.normal(size=(30, 4)), y=np.arange(30) % 3, g=np.arange(30) // 3)
    np.savez(workdir / "s.npz", x=rng.normal(size=(30, 7, 2)), y=np.array(["a", "b"] * 15))
    np.savez(workdir / "i.npz", x=rng.random(size=(30, 5, 5, 1)), y=np.arange(30) % 2)
    table = load_source(NpzSource(path="t.npz"), None, workdir, ("g",))
    assert table.kind == "tabular" and table.input_shape == (4,) and table.n_classes == 3
    assert table.metadata["g"].tolist() == (np.arange(30) // 3).tolist()
    seq = load_source(SequenceSource(path="s.npz"), None, workdir)
    assert seq.kind == "sequence" and seq.input_shape == (7, 2) and seq.classes == ["a", "b"]
    images = load_source(NpzSource(path="i.npz"), None, workdir)
    assert images.kind == "image" and images.input_shape == (5, 5, 1) and images.task == "binary"
    assert _message(SequenceSource(path="t.npz"), workdir) == (
        f"{workdir / 't.npz'}: array 'x' has shape (30, 4); sequence expects (n, timesteps, features)"
    )
    assert _message(NpzSource(path="t.npz", y="label"), workdir) == (
        f"{workdir / 't.npz'}: no label array 'label'."
    )
    np.savez(workdir / "n.npz", x=np.where(np.eye(4) > 0, np.nan, 1.0), y=[0, 1, 0, 1])
    assert _message(NpzSource(path="n.npz"), workdir) == (
        f"{workdir / 'n.npz'}: array 'x' has 4 example(s) with NaN or infinite values, "
        "first at row 1 (1-based)"
    )
    np.savez(workdir / "u.npz", x=np.ones((4, 2)), y=["cat", "dog", "cat", "bird"])
    assert _message(NpzSource(path="u.npz", classes=["cat", "dog"]), workdir) == (
        f"{workdir / 'u.npz'}: array 'y': label 'bird' at row 4 (1-based) is not one of the classes "
        "['cat', 'dog']"
    )


def _png(path: Path, value: int, size: tuple[int, int] = (6, 4)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)


def _folder(root: Path) -> None:
    for i in range(6):
        _png(root / "cat" / f"{i}.png", 10 * i)
        _png(root / "dog" / f"{i}.png", 100 + 10 * i, size=(9, 9))
    # the same bytes as cat/0.png, under another name and class: a duplicate image
    (root / "dog" / "copy.png").write_bytes((root / "cat" / "0.png").read_bytes())


def test_image_folder_loaded_and_streamed(workdir: Path) -> None:
    _folder(workdir / "imgs")
    spec = ImageFolderSource(path="imgs", image_size=(4, 4), color_mode="grayscale")
    data = load_source(spec, None, workdir)
    assert data.kind == "image" and data.x.shape == (13, 4, 4, 1) and data.classes == ["cat", "dog"]
    assert data.ids[0] == "cat/0.png" and data.y.tolist() == [0] * 6 + [1] * 7
    assert data.x[1].mean() == pytest.approx(10.0) and data.x[6].mean() == pytest.approx(100.0)
    assert data.ids[12] == "dog/copy.png"
    assert data.input_hashes is not None and data.input_hashes[0] == data.input_hashes[12]
    assert len(set(data.input_hashes.tolist())) == 12
    streamed = load_source(spec.model_copy(update={"stream": True}), None, workdir)
    assert streamed.stream and streamed.x.shape == (13, 0) and streamed.input_shape == (4, 4, 1)
    assert streamed.content_hash == data.content_hash
    assert (streamed.input_hashes == data.input_hashes).all()


def test_an_image_folder_keeps_the_task_the_recipe_names(workdir: Path) -> None:
    _folder(workdir / "imgs")
    _png(workdir / "imgs" / "eel" / "0.png", 200)
    spec = ImageFolderSource(path="imgs", image_size=(4, 4))
    assert load_source(spec, None, workdir).task == "multiclass"  # three class folders
    # identities of a verification run stay so; binary is refused, not turned into multiclass
    assert load_source(spec, "verification", workdir).task == "verification"
    with pytest.raises(DataError) as info:
        load_source(spec, "binary", workdir)
    assert info.value.message == f"{workdir / 'imgs'}: task binary needs exactly 2 classes (got 3)"
    # class names are text: with no task named, more than two are multiclass, as for a table
    (workdir / "imgs" / "eel").rename(workdir / "imgs" / "7")
    assert load_source(spec, None, workdir).classes == ["7", "cat", "dog"]
    assert load_source(spec, None, workdir).task == "multiclass"


def test_image_folder_errors(workdir: Path) -> None:
    _folder(workdir / "imgs")
    spec = ImageFolderSource(path="imgs", image_size=(4, 4))
    (workdir / "imgs" / "cat" / "notes.txt").write_text("not an image")
    assert (
        _message(spec, workdir)
        == f"{workdir / 'imgs' / 'cat' / 'notes.txt'}: not a PNG or JPEG image (expected .png, .jpg, .jpeg)"
    )
    (workdir / "imgs" / "cat" / "notes.txt").unlink()
    (workdir / "imgs" / "cat" / "fake.png").write_text("text in disguise")
    assert (
        _message(spec, workdir)
        == f"{workdir / 'imgs' / 'cat' / 'fake.png'}: not a PNG or JPEG image (its content is neither)"
    )
    assert (
        _message(spec.model_copy(update={"path": Path("nope")}), workdir)
        == f"{workdir / 'nope'}: folder not found"
    )


def test_text_vocabulary_comes_from_train_only(workdir: Path) -> None:
    rows = [("good fine movie", "pos"), ("bad awful movie", "neg")] * 20 + [("zebra", "pos")]
    frame = pd.DataFrame(rows, columns=["review", "label"])
    frame.to_csv(workdir / "r.csv", index=False)
    data = load_source(
        TextSource(path="r.csv", text="review", target="label", output_sequence_length=5), None, workdir
    )
    assert data.kind == "text" and data.input_shape == (5,) and data.vocab_size == 20_000
    result = split_dataset(data, SplitSpec(dev=0.2, test=0.2), seed=0)
    row = 40
    train = result.indices("train")
    if row in train:  # make sure the rare word is held out, to check it stays unknown
        train = train[train != row]
    data.prepare(train)
    assert data.x.shape == (41, 5) and data.x.dtype == np.int32
    assert "zebra" not in data.vocabulary and data.vocab_size == len(data.vocabulary)
    assert data.x[row].tolist() == [1, 0, 0, 0, 0]  # out of vocabulary, then padding
    assert data.vocabulary[data.x[0][2]] == "movie"
    frame.loc[3, "review"] = None
    frame.to_csv(workdir / "m.csv", index=False)
    assert _message(TextSource(path="m.csv", text="review", target="label"), workdir) == (
        f"{workdir / 'm.csv'}: text column 'review' has 1 missing value(s), first at line 5"
    )


def test_streamed_table_keeps_no_features_but_same_split(workdir: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500), "y": rng.integers(0, 2, 500)})
    frame["g"] = np.arange(500) // 5
    frame.to_csv(workdir / "t.csv", index=False)
    spec = CsvSource(path="t.csv", target="y")
    eager = load_source(spec, None, workdir, ("g",))
    streamed = load_source(spec.model_copy(update={"stream": True}), None, workdir, ("g",))
    assert eager.feature_names == ["a", "b"] == streamed.feature_names  # g is a split column, not a feature
    assert streamed.x.shape == (500, 0) and streamed.input_shape == (2,)
    assert (streamed.input_hashes == eager.input_hashes).all() and (streamed.y == eager.y).all()
    split_spec = SplitSpec(dev=0.2, test=0.2, group="g")
    a, b = split_dataset(eager, split_spec, seed=0), split_dataset(streamed, split_spec, seed=0)
    assert (a.assignment == b.assignment).all()
    assert _message(spec, workdir, ("grp",)) == f"{workdir / 't.csv'}: no split column 'grp'."


def test_empty_and_unseen_labels_in_tables(workdir: Path) -> None:
    (workdir / "e.csv").write_text("a,y\n")
    assert _message(CsvSource(path="e.csv", target="y"), workdir) == f"{workdir / 'e.csv'}: no rows"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["x", "y", "z"]}).to_csv(workdir / "u.csv", index=False)
    assert _message(CsvSource(path="u.csv", target="y", classes=["x", "y"]), workdir) == (
        f"{workdir / 'u.csv'}: target column 'y': label 'z' at line 4 is not one of the classes ['x', 'y']"
    )


def test_streams_give_the_same_inputs_as_loading_whole(workdir: Path) -> None:
    from dlkit.data.pipeline import inputs, make_stream

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        for i in range(5):
            path = workdir / "imgs" / c / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, size=(4, 4, 3), dtype=np.uint8)).save(path)
    spec = ImageFolderSource(path="imgs", image_size=(4, 4))
    eager = load_source(spec, None, workdir)
    streamed = load_source(spec.model_copy(update={"stream": True}), None, workdir)
    picked = np.array([7, 2, 5])
    np.testing.assert_allclose(inputs(streamed, picked), eager.x[picked])
    (xb, yb), *_ = list(make_stream(streamed, picked, batch_size=8).as_numpy_iterator())
    np.testing.assert_allclose(xb, eager.x[np.sort(picked)])
    assert yb.tolist() == eager.y[np.sort(picked)].tolist()

    frame = pd.DataFrame({"b": rng.normal(size=40), "a": rng.normal(size=40), "y": np.arange(40) % 2})
    frame.to_csv(workdir / "t.csv", index=False)
    frame.to_parquet(workdir / "t.parquet")
    for spec in (
        CsvSource(path="t.csv", target="y", features=["a", "b"], stream=True),
        ParquetSource(path="t.parquet", target="y", features=["a", "b"], stream=True),
    ):
        table = load_source(spec, None, workdir)
        rows = inputs(table, np.array([30, 3, 11]))
        np.testing.assert_allclose(rows, frame.loc[[30, 3, 11], ["a", "b"]].to_numpy(), rtol=1e-6)
