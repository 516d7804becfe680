"""The image CSV source (localization and landmarks): the shipped npz data written as PNGs and a
CSV gives the npz's labels, and bad rows are refused naming their line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlkit.data.arrays import NpzSource
from dlkit.data.image_csv import ImageCsvSource
from dlkit.data.sources import load_source
from dlkit.errors import DataError, RecipeError

DATA = Path(__file__).resolve().parents[3] / "recipes" / "data"
N = 12


def _write(folder: Path, x: np.ndarray, labels: pd.DataFrame) -> Path:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    names = [f"img/{i:03d}.png" for i in range(len(x))]
    for name, image in zip(names, x, strict=True):
        Image.fromarray(image[..., 0].astype(np.uint8)).save(folder / name)
    labels.insert(0, "image", names)
    labels.to_csv(folder / "labels.csv", index=False)
    return folder / "labels.csv"


def _shipped(name: str, folder: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    arrays = np.load(DATA / name)
    x, y = arrays["x"][:N], arrays["y"][:N]
    np.savez(folder / "part.npz", x=x, y=y)
    return x, y, folder / "part.npz"


@pytest.mark.parametrize("size", [32, 16])  # as stored, and resized: the coordinates follow
def test_a_csv_of_the_shipped_boxes_gives_the_npz_labels(tmp_path: Path, size: int) -> None:
    x, y, npz = _shipped("digit-boxes.npz", tmp_path)
    boxes = pd.DataFrame(y[:, 1:], columns=["x_min", "y_min", "x_max", "y_max"])
    boxes.insert(0, "class", y[:, 0].astype(int))
    csv = _write(tmp_path, x, boxes)
    from_npz = load_source(NpzSource(path=npz), "localization", tmp_path)
    spec = ImageCsvSource(path=csv, image_size=(size, size), color_mode="grayscale")
    from_csv = load_source(spec, "localization", tmp_path)
    assert from_csv.classes == from_npz.classes
    assert np.allclose(from_csv.y, from_npz.y, atol=1e-6)
    assert from_csv.ids.tolist()[:2] == ["img/000.png", "img/001.png"]
    if size == 32:
        assert np.array_equal(from_csv.x, from_npz.x)


def test_a_csv_of_the_shipped_corners_gives_the_npz_labels(tmp_path: Path) -> None:
    x, y, npz = _shipped("triangles.npz", tmp_path)
    points = pd.DataFrame(y.reshape(N, -1), columns=["x1", "y1", "x2", "y2", "x3", "y3"])
    csv = _write(tmp_path, x, points)
    from_npz = load_source(NpzSource(path=npz), "landmarks", tmp_path)
    spec = ImageCsvSource(path=csv, image_size=(24, 24), color_mode="grayscale")
    from_csv = load_source(spec, "landmarks", tmp_path)
    assert from_csv.classes == from_npz.classes == ["point_0", "point_1", "point_2"]
    assert np.allclose(from_csv.y, from_npz.y, atol=1e-6)


def _small(folder: Path, labels: dict[str, list[object]]) -> Path:
    x = np.zeros((2, 20, 10, 1), dtype=np.uint8)  # stored 10 wide, 20 high
    return _write(folder, x, pd.DataFrame(labels))


@pytest.mark.parametrize(
    ("task", "labels", "message"),
    [
        (
            "localization",
            {"class": ["a", "b"], "x_min": [0, 2], "y_min": [0, 2], "x_max": [10, 11], "y_max": [20, 5]},
            "line 3: box [2.0, 2.0, 11.0, 5.0] is not inside the 10x20 image 'img/001.png' with "
            "x_min < x_max and y_min < y_max (pixels)",
        ),
        (
            "localization",
            {"class": ["a", "b"], "x_min": [0, "left"], "y_min": [0, 2], "x_max": [5, 6], "y_max": [5, 6]},
            "line 3: x_min is not a number ('left')",
        ),
        (
            "localization",
            {"class": ["a", "b"], "x_min": [0, 1], "y_min": [0, 2], "x_max": [5, 6]},
            "missing column(s) y_max (localization expects image, class, x_min, y_min, x_max, y_max: one box "
            "per image)",
        ),
        (
            "landmarks",
            {"x1": [1, 2], "y1": [1, 2], "x2": [3, 4], "y2": [3, None]},
            "line 3: 1 of 2 points (every image needs all 2, x and y)",
        ),
        (
            "landmarks",
            {"x1": [1, 2], "y1": [1, 2], "x2": [3, 4], "y2": [3, 21]},
            "line 3: point 2 [4.0, 21.0] is outside the 10x20 image 'img/001.png'",
        ),
        (
            "landmarks",
            {"x1": [1, 2], "y1": [1, 2], "x3": [3, 4], "y3": [3, 4]},
            "missing column(s) x2, y2 (landmarks expects image, x1, y1, x2, y2, ..., xk, yk: every image's "
            "points in one order)",
        ),
    ],
)
def test_bad_rows_are_refused_naming_the_line(
    tmp_path: Path, task: str, labels: dict[str, list[object]], message: str
) -> None:
    csv = _small(tmp_path, labels)
    with pytest.raises(DataError) as caught:
        load_source(ImageCsvSource(path=csv, image_size=(8, 8)), task, tmp_path)
    assert caught.value.message == f"{csv}: {message}"


def test_a_missing_image_and_another_task_are_refused(tmp_path: Path) -> None:
    csv = _small(tmp_path, {"x1": [1, 2], "y1": [1, 2]})
    (tmp_path / "img" / "001.png").unlink()
    with pytest.raises(DataError) as caught:
        load_source(ImageCsvSource(path=csv, image_size=(8, 8)), "landmarks", tmp_path)
    assert caught.value.message == f"{csv}: line 3: image 'img/001.png' not found in {tmp_path}"
    with pytest.raises(RecipeError) as refused:
        load_source(ImageCsvSource(path=csv, image_size=(8, 8)), "multiclass", tmp_path)
    assert refused.value.message == (
        "data.task: an image_csv source gives labels for task ctc, landmarks or localization (got multiclass)"
    )
