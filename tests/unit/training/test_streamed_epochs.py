"""The streamed training stream: the in-memory epoch order for images and for tables within one
block, every epoch a reshuffled permutation of the set, and the tail from a later epoch
identical to the whole stream's (what --resume relies on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlkit.data.images import ImageFolderSource
from dlkit.data.sources import CsvSource, ParquetSource, load_source
from dlkit.training.stream import epoch_stream, streamed_epochs


def _batches(ds) -> list[tuple[np.ndarray, np.ndarray]]:  # type: ignore[no-untyped-def]
    return list(ds.as_numpy_iterator())


def _png_folder(workdir: Path, classes: str, per_class: int, shape: tuple[int, ...], seed: int = 0) -> None:
    """``imgs/<class>/<i>.png``: random pixels of ``shape`` (height, width[, channels])."""
    rng = np.random.default_rng(seed)
    for c in classes:
        (workdir / "imgs" / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, size=shape, dtype=np.uint8)).save(
                workdir / "imgs" / c / f"{i}.png"
            )


def _table(workdir: Path, fmt: str, n: int = 53):  # type: ignore[no-untyped-def]
    # the row number is a feature, so every streamed row says which row it is
    frame = pd.DataFrame({"row": np.arange(n, dtype=float), "v": np.arange(n) * 0.5, "y": np.arange(n) % 3})
    if fmt == "csv":
        frame.to_csv(workdir / "t.csv", index=False)
        spec = CsvSource(path="t.csv", target="y", features=["row", "v"])
    else:
        frame.to_parquet(workdir / "t.parquet")
        spec = ParquetSource(path="t.parquet", target="y", features=["row", "v"])
    eager = load_source(spec, "multiclass", workdir)
    streamed = load_source(spec.model_copy(update={"stream": True}), "multiclass", workdir)
    return eager, streamed


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_table_within_one_block_streams_the_in_memory_batches(workdir: Path, fmt: str) -> None:
    eager, streamed = _table(workdir, fmt)
    train = np.arange(0, 53, 2)[::-1]  # any order: the stream sorts, as SplitResult.indices gives
    kw = {"shuffle": True, "seed": 7, "initial_epoch": 0, "epochs": 3}
    memory = _batches(epoch_stream(eager.x[np.sort(train)], eager.y[np.sort(train)], 5, **kw))
    files = _batches(streamed_epochs(streamed, train, 5, **kw))
    assert len(files) == len(memory) == 3 * 6
    for (xa, ya), (xb, yb) in zip(files, memory, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_table_blocks_reshuffle_every_epoch_and_resume_from_any_epoch(workdir: Path) -> None:
    _, streamed = _table(workdir, "csv")
    train = np.flatnonzero(np.arange(53) % 5 != 0)  # 42 rows, blocks of 10

    def rows(initial_epoch: int, shuffle: bool = True) -> np.ndarray:
        ds = streamed_epochs(
            streamed, train, 4, shuffle=shuffle, seed=1, initial_epoch=initial_epoch, epochs=3, block_rows=10
        )
        batches = _batches(ds)
        for x, y in batches:  # labels travel with their rows
            np.testing.assert_array_equal(y, x[:, 0].astype(int) % 3)
        return np.concatenate([x[:, 0] for x, _ in batches]).astype(int)

    whole = rows(0)
    epochs = whole.reshape(3, 42)
    for order in epochs:
        assert sorted(order) == train.tolist()
        # shuffled within blocks of 10 file rows: block k holds train rows 10k .. 10k + 9
        for k in range(5):
            assert sorted(order[10 * k : 10 * k + 10]) == train[10 * k : 10 * k + 10].tolist()
    assert not (epochs[0] == epochs[1]).all() and not (epochs[1] == epochs[2]).all()
    np.testing.assert_array_equal(rows(1), whole[42:])
    np.testing.assert_array_equal(rows(2), whole[84:])
    np.testing.assert_array_equal(rows(0, shuffle=False), np.tile(train, 3))


def test_an_image_folder_streams_the_in_memory_batches(workdir: Path) -> None:
    _png_folder(workdir, "abc", 7, (4, 4))
    spec = ImageFolderSource(path="imgs", image_size=(4, 4), color_mode="grayscale")
    eager = load_source(spec, None, workdir)
    streamed = load_source(spec.model_copy(update={"stream": True}), None, workdir)
    train = np.arange(1, 21)
    kw = {"shuffle": True, "seed": 3, "initial_epoch": 1, "epochs": 3}
    memory = _batches(epoch_stream(eager.x[train], eager.y[train], 6, **kw))
    files = _batches(streamed_epochs(streamed, train, 6, **kw))
    assert len(files) == len(memory) == 2 * 4
    for (xa, ya), (xb, yb) in zip(files, memory, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_a_cached_table_streams_the_same_batches_and_reads_the_file_once(workdir: Path) -> None:
    from dlkit.data.pipeline import make_stream

    eager, streamed = _table(workdir, "csv")
    train, dev = np.flatnonzero(np.arange(53) % 5 != 0), np.flatnonzero(np.arange(53) % 5 == 0)
    kw = {"shuffle": True, "seed": 1, "initial_epoch": 0, "epochs": 3, "block_rows": 10}
    parsed = _batches(streamed_epochs(streamed, train, 4, **kw))
    scratch = workdir / "scratch"
    scratch.mkdir()
    epochs = streamed_epochs(streamed, train, 4, **kw, cache=scratch / "train")
    in_order = make_stream(streamed, dev, 4, cache=scratch / "dev")
    # a pass left unfinished (an interrupted epoch) leaves no cache to be read as the whole set
    unfinished = iter(epochs)
    next(unfinished)
    del unfinished
    assert not list(scratch.glob("train*"))
    first = (_batches(epochs), _batches(in_order))
    assert (scratch / "train.index").is_file() and (scratch / "dev.index").is_file()
    (workdir / "t.csv").unlink()  # from here on the rows can only come from the cache
    again = (_batches(epochs), _batches(in_order))
    expected_dev = [(eager.x[dev[k : k + 4]], eager.y[dev[k : k + 4]]) for k in range(0, len(dev), 4)]
    for got_epochs, got_dev in (first, again):
        for got, expected in ((got_epochs, parsed), (got_dev, expected_dev)):
            assert len(got) == len(expected)
            for (xa, ya), (xb, yb) in zip(got, expected, strict=True):
                np.testing.assert_array_equal(xa, xb)
                np.testing.assert_array_equal(ya, yb)


def test_cached_images_stream_the_same_batches_and_are_decoded_once(workdir: Path) -> None:
    from dlkit.data.pipeline import make_stream

    _png_folder(workdir, "ab", 11, (6, 5, 3), seed=1)
    # resized 6x5 -> 4x3: bilinear values, not whole numbers, are what the cache must keep exactly
    spec = ImageFolderSource(path="imgs", image_size=(4, 3), stream=True)
    streamed = load_source(spec, None, workdir)
    train, dev = np.arange(0, 22, 3).tolist() + np.arange(1, 22, 3).tolist(), np.arange(2, 22, 3)
    kw = {"shuffle": True, "seed": 5, "initial_epoch": 1, "epochs": 4}
    decoded = _batches(streamed_epochs(streamed, np.array(train), 4, **kw))
    decoded_dev = _batches(make_stream(streamed, dev, 4))
    scratch = workdir / "scratch"
    scratch.mkdir()
    batches = iter(streamed_epochs(streamed, np.array(train), 4, **kw, cache=scratch / "train"))
    in_order = make_stream(streamed, dev, 4, cache=scratch / "dev")
    got = [next(batches) for _ in range(4)]  # the first epoch: 15 images in 4 batches
    got_dev = _batches(in_order)
    assert len(list((scratch / "train").iterdir())) == len(train)  # one decoded image each
    for png in (workdir / "imgs").rglob("*.png"):
        png.unlink()  # from here on the images can only come from the cache
    got += [(x.numpy(), y.numpy()) for x, y in batches]
    got_dev_again = _batches(in_order)
    assert len(got) == len(decoded) == 3 * 4
    for got_batches, expected in ((got, decoded), (got_dev, decoded_dev), (got_dev_again, decoded_dev)):
        assert len(got_batches) == len(expected)
        for (xa, ya), (xb, yb) in zip(got_batches, expected, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(decoded[0][0], decoded[4][0])  # the epochs are reshuffled


def test_decoded_images_are_kept_only_where_they_fit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dlkit.data import pipeline

    _png_folder(workdir, "ab", 1, (6, 5, 3))
    streamed = load_source(ImageFolderSource(path="imgs", image_size=(4, 3), stream=True), None, workdir)
    # 1,000 decoded images of 4 x 3 x 3 float32: 144,000 bytes
    monkeypatch.setattr(pipeline, "IMAGE_CACHE_BYTES", 144_000)
    assert pipeline.image_cache_fits(streamed, 1000, workdir)
    assert not pipeline.image_cache_fits(streamed, 1001, workdir)
