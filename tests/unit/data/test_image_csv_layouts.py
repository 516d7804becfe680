"""More image CSV layouts: ``image, text`` for ctc and the long landmarks form ``image, point, x, y``.
The shipped npz data written as PNGs and a CSV gives the npz's inputs and labels, and bad rows are
refused naming their line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlkit.data.arrays import NpzSource
from dlkit.data.image_csv import ImageCsvSource
from dlkit.data.sources import load_source
from dlkit.errors import DataError

DATA = Path(__file__).resolve().parents[3] / "recipes" / "data"
N = 6
POINTS = ["top", "bottom_left", "bottom_right"]


def _images(folder: Path, x: np.ndarray) -> list[str]:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    names = [f"img/{i:03d}.png" for i in range(len(x))]
    for name, image in zip(names, x, strict=True):
        Image.fromarray(image[..., 0].astype(np.uint8)).save(folder / name)
    return names


def _shipped(name: str, folder: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    with np.load(DATA / name) as arrays:
        x, y = arrays["x"][:N], arrays["y"][:N]
    np.savez(folder / "part.npz", x=x, y=y)
    return x, y, folder / "part.npz"


def _csv(folder: Path, rows: pd.DataFrame) -> Path:
    rows.to_csv(folder / "labels.csv", index=False)
    return folder / "labels.csv"


# -- ctc: image, text ------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet", [None, list("0123456789")])
def test_a_csv_of_the_shipped_digit_strings_gives_the_npz_data(
    tmp_path: Path, alphabet: list[str] | None
) -> None:
    x, y, npz = _shipped("digit-strings.npz", tmp_path)
    assert "02" in y.tolist()  # a leading zero the CSV must keep
    csv = _csv(tmp_path, pd.DataFrame({"image": _images(tmp_path, x), "text": y}))
    from_npz = load_source(NpzSource(path=npz, classes=alphabet), "ctc", tmp_path)
    spec = ImageCsvSource(path=csv, image_size=(8, 48), color_mode="grayscale", classes=alphabet)
    from_csv = load_source(spec, "ctc", tmp_path)
    assert from_csv.classes == from_npz.classes
    assert np.array_equal(from_csv.x, from_npz.x)
    assert np.array_equal(from_csv.y, from_npz.y) and from_csv.y.dtype == from_npz.y.dtype
    assert from_csv.task == "ctc" and from_csv.ids.tolist() == [f"img/{i:03d}.png" for i in range(N)]
    new = load_source(
        spec.model_copy(update={"path": _csv(tmp_path, pd.DataFrame({"image": ["img/000.png"]}))}),
        "ctc",
        tmp_path,
        labels="optional",
    )
    assert not new.labelled and new.x.shape == (1, 8, 48, 1)


def test_text_is_read_as_written(tmp_path: Path) -> None:
    names = _images(tmp_path, np.zeros((3, 8, 16, 1)))
    (tmp_path / "labels.csv").write_text(
        f'image, text\n{names[0]}, NA\n{names[1]},0071\n{names[2]},"a b"\n', encoding="utf-8"
    )
    data = load_source(ImageCsvSource(path=Path("labels.csv"), image_size=(8, 16)), "ctc", tmp_path)
    assert data.classes == [" ", "0", "1", "7", "A", "N", "a", "b"]
    # index + 1 of each character, 0-padded: N A / 0 0 7 1 / a ' ' b
    assert data.y.tolist() == [[6, 5, 0, 0], [2, 2, 4, 3], [7, 1, 8, 0]]


@pytest.mark.parametrize(
    ("rows", "classes", "message"),
    [
        (
            "img/000.png,12\nimg/001.png,\n",
            None,
            "line 3: text is empty (task ctc expects at least one character)",
        ),
        (
            "img/000.png,12\nimg/001.png,1x\n",
            list("0123"),
            "line 3: character 'x' is not one of data.source.classes ['0', '1', '2', '3']",
        ),
        ("img/000.png,12\nimg/009.png,3\n", None, "line 3: image 'img/009.png' not found in {folder}"),
    ],
)
def test_bad_text_rows_are_refused_naming_the_line(
    tmp_path: Path, rows: str, classes: list[str] | None, message: str
) -> None:
    _images(tmp_path, np.zeros((2, 8, 16, 1)))
    csv = tmp_path / "labels.csv"
    csv.write_text("image,text\n" + rows, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_source(ImageCsvSource(path=csv, image_size=(8, 16), classes=classes), "ctc", tmp_path)
    assert caught.value.message == f"{csv}: {message.format(folder=tmp_path)}"


# -- landmarks, long form: image, point, x, y ------------------------------------------------


def _long(names: list[str], y: np.ndarray, points: list[object]) -> pd.DataFrame:
    rows = [(name, points[j], *y[i, j]) for i, name in enumerate(names) for j in range(y.shape[1])]
    frame = pd.DataFrame(rows, columns=["image", "point", "x", "y"])
    shuffled = frame.sample(frac=1.0, random_state=0)  # an image's points in any order
    return shuffled.sort_values("image", kind="stable").reset_index(drop=True)


def test_the_long_form_gives_the_wide_form_s_labels(tmp_path: Path) -> None:
    x, y, npz = _shipped("triangles.npz", tmp_path)
    names = _images(tmp_path, x)
    wide = pd.DataFrame(y.reshape(N, -1), columns=["x1", "y1", "x2", "y2", "x3", "y3"])
    wide.insert(0, "image", names)
    spec = ImageCsvSource(path=_csv(tmp_path, wide), image_size=(24, 24), color_mode="grayscale")
    from_wide = load_source(spec, "landmarks", tmp_path)
    named = spec.model_copy(update={"classes": POINTS})
    from_wide_named = load_source(named, "landmarks", tmp_path)
    # names in the order classes gives; indices in increasing order, named as the wide form's
    _csv(tmp_path, _long(names, y, POINTS))
    from_names = load_source(named, "landmarks", tmp_path)
    assert from_names.classes == POINTS and np.array_equal(from_names.y, from_wide_named.y)
    assert from_names.ids.tolist() == from_wide.ids.tolist() == names  # images as first listed
    assert np.array_equal(from_names.x, from_wide.x)
    _csv(tmp_path, _long(names, y, [1, 2, 3]))
    from_indices = load_source(spec, "landmarks", tmp_path)
    assert from_indices.classes == from_wide.classes == ["point_0", "point_1", "point_2"]
    assert np.array_equal(from_indices.y, from_wide.y)
    assert np.allclose(from_wide.y, load_source(NpzSource(path=npz), "landmarks", tmp_path).y, atol=1e-6)
    # names without classes: sorted, as pandas.pivot orders them
    _csv(tmp_path, _long(names, y, POINTS))
    from_sorted = load_source(spec, "landmarks", tmp_path)
    assert from_sorted.classes == ["bottom_left", "bottom_right", "top"]
    assert np.array_equal(from_sorted.y.reshape(N, 3, 2), from_wide.y.reshape(N, 3, 2)[:, [1, 2, 0]])


@pytest.mark.parametrize(
    ("rows", "classes", "message"),
    [
        (
            "p,a,1,2 q,a,1,2 q,b,3,4",
            None,
            "line 2: image 'p.png' has no point 'b' (every image needs all 2 points: a, b)",
        ),
        (
            "p,a,1,2 p,b,1,2 q,b,3,4 q,a,1,1 p,a,3,3",
            None,
            "line 6: image 'p.png' has point 'a' twice (first on line 2)",
        ),
        ("p,a,1,2 p,c,1,2", ["a", "b"], "line 3: point 'c' is not one of data.source.classes ['a', 'b']"),
        (
            "p,1,1,2 p,2,1,2 q,1,1,2 q,2,4,21",
            None,
            "line 5: point [4.0, 21.0] is outside the 10x20 image 'q.png'",
        ),
        ("p,a,1,2 p,b,one,2", None, "line 3: x is not a number ('one')"),
        ("p,a,1,2 p,b,1,", None, "line 3: x and y needed"),
        ("p,a,1,2 p,,1,2", None, "line 3: column 'point' is empty"),
        ("p,1,1,2 p,1.5,1,2", None, "line 3: point 1.5 is no index (an integer) nor a name"),
    ],
)
def test_bad_long_rows_are_refused_naming_the_line(
    tmp_path: Path, rows: str, classes: list[str] | None, message: str
) -> None:
    for name in ("p", "q"):
        Image.fromarray(np.zeros((20, 10), np.uint8)).save(tmp_path / f"{name}.png")  # 10 wide, 20 high
    csv = tmp_path / "labels.csv"
    body = "".join(f"{row.replace(',', '.png,', 1)}\n" for row in rows.split())
    csv.write_text("image,point,x,y\n" + body, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_source(ImageCsvSource(path=csv, image_size=(8, 8), classes=classes), "landmarks", tmp_path)
    assert caught.value.message == f"{csv}: {message}"
