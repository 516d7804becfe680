"""The detection sources: one set of boxes written as CSV, Pascal VOC XML and COCO JSON reads the
same; the digit canvases are seeded and their boxes hold the digits; bad annotations are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlkit.data.boxes import BoxesSource, CanvasSource, load_boxes, load_canvas
from dlkit.errors import DataError

# image -> (width, height), boxes (class, x_min, y_min, x_max, y_max) in pixels
IMAGES = {
    "a.png": ((40, 20), [("cat", 0, 0, 20, 10), ("dog", 20, 5, 40, 20)]),
    "b.png": ((30, 30), [("dog", 3, 6, 15, 30)]),
    "c.png": ((30, 30), []),
}


def _images(folder: Path) -> None:
    for name, ((w, h), _) in IMAGES.items():
        Image.fromarray(np.full((h, w, 3), 128, dtype=np.uint8)).save(folder / name)


def _csv(folder: Path) -> Path:
    lines = ["image,class,x_min,y_min,x_max,y_max"]
    for name, (_, boxes) in IMAGES.items():
        lines += [f"{name},{c},{x1},{y1},{x2},{y2}" for c, x1, y1, x2, y2 in boxes] or [f"{name},,,,,"]
    path = folder / "boxes.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _voc(folder: Path) -> Path:
    xml = folder / "annotations"
    xml.mkdir()
    for name, ((w, h), boxes) in IMAGES.items():
        objects = "".join(
            f"<object><name>{c}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
            f"<ymax>{y2}</ymax></bndbox></object>"
            for c, x1, y1, x2, y2 in boxes
        )
        (xml / f"{name}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>{w}</width><height>{h}</height>"
            f"<depth>3</depth></size>{objects}</annotation>"
        )
    return xml


def _coco(folder: Path) -> Path:
    names = {"cat": 1, "dog": 7}
    doc = {
        "images": [
            {"id": i, "file_name": n, "width": w, "height": h}
            for i, (n, ((w, h), _)) in enumerate(IMAGES.items())
        ],
        "annotations": [
            {"id": 100 * i + k, "image_id": i, "category_id": names[c], "bbox": [x1, y1, x2 - x1, y2 - y1]}
            for i, (_, (_, boxes)) in enumerate(IMAGES.items())
            for k, (c, x1, y1, x2, y2) in enumerate(boxes)
        ],
        "categories": [{"id": v, "name": k} for k, v in names.items()],
    }
    path = folder / "coco.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("layout", [_csv, _voc, _coco], ids=["csv", "voc", "coco"])
def test_every_layout_reads_the_same_boxes(layout, tmp_path: Path) -> None:
    _images(tmp_path)
    path = layout(tmp_path)
    spec = BoxesSource(path=path, images=tmp_path, image_size=(16, 16))
    data = load_boxes(spec, None, tmp_path)
    assert data.task == "detection" and data.classes == ["cat", "dog"]
    assert data.x.shape == (3, 16, 16, 3)
    by_id = {str(i): k for k, i in enumerate(data.ids)}
    a, b, c = by_id["a.png"], by_id["b.png"], by_id["c.png"]
    # image units: a.png is 40 x 20 pixels
    np.testing.assert_allclose(data.boxes[a], [[0, 0, 0.5, 0.5], [0.5, 0.25, 1, 1]])
    assert data.box_classes[a].tolist() == [0, 1]
    np.testing.assert_allclose(data.boxes[b], [[0.1, 0.2, 0.5, 1.0]])
    assert len(data.boxes[c]) == 0
    assert data.sizes[a].tolist() == [40, 20]
    assert data.y.tolist() == [len(data.boxes[k]) for k in range(3)]


def test_a_box_outside_its_image_is_one_line(tmp_path: Path) -> None:
    _images(tmp_path)
    (tmp_path / "boxes.csv").write_text("image,class,x_min,y_min,x_max,y_max\na.png,cat,0,0,50,10\n")
    with pytest.raises(
        DataError, match=r"image 'a.png': box \[0.0, 0.0, 50.0, 10.0\] is not inside the 40x20 image"
    ):
        load_boxes(BoxesSource(path=tmp_path / "boxes.csv", image_size=(8, 8)), None, tmp_path)


def test_a_csv_without_the_box_columns_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "boxes.csv").write_text("image,label\na.png,cat\n")
    with pytest.raises(DataError, match="missing column\\(s\\) class, x_min, y_min, x_max, y_max"):
        load_boxes(BoxesSource(path=tmp_path / "boxes.csv", image_size=(8, 8)), None, tmp_path)


def test_a_missing_image_names_it(tmp_path: Path) -> None:
    (tmp_path / "boxes.csv").write_text("image,class,x_min,y_min,x_max,y_max\nnope.png,cat,0,0,5,5\n")
    with pytest.raises(DataError, match=r"image 'nope\.png' not found"):
        load_boxes(BoxesSource(path=tmp_path / "boxes.csv", image_size=(8, 8)), None, tmp_path)


def test_canvases_are_seeded_and_their_boxes_hold_the_ink() -> None:
    spec = CanvasSource(n_images=30, size=40, digits=[3, 7], seed=5)
    data = load_canvas(spec, None, Path("."))
    again = load_canvas(spec, None, Path("."))
    np.testing.assert_array_equal(data.x, again.x)
    assert data.classes == ["3", "7"] and data.x.shape == (30, 40, 40, 1)
    counts = [len(b) for b in data.boxes]
    assert min(counts) >= 1 and max(counts) <= 3
    for image, boxes in zip(data.x[..., 0], data.boxes, strict=True):
        pixels = np.round(boxes * 40).astype(int)
        inside = np.zeros_like(image, dtype=bool)
        for x1, y1, x2, y2 in pixels:
            inside[y1:y2, x1:x2] = True
            assert image[y1:y2, x1:x2].max() > 32  # each box holds ink
        assert image[~inside].max(initial=0) <= 32  # no ink outside the boxes
