"""Image labels in each task's shape: npz boxes, keypoints and masks, and the masks folder source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlkit.data.arrays import NpzSource, load_npz
from dlkit.data.masks import MaskFolderSource, load_masks
from dlkit.data.shapes import CORNERS, digit_boxes, shape_masks, triangle_corners
from dlkit.errors import DataError, RecipeError


def _npz(path: Path, x: np.ndarray, y: np.ndarray | None = None) -> Path:
    np.savez(path, x=x, **({"y": y} if y is not None else {}))
    return path


def test_boxes_are_held_as_class_index_and_shares_of_the_image(tmp_path: Path) -> None:
    x, y = digit_boxes(6, 32, seed=0, digits=3)
    assert x.shape == (6, 32, 32, 1) and y.shape == (6, 5)
    for (label, x0, y0, x1, y1), image in zip(y, x[..., 0], strict=True):
        assert 0 <= label < 3
        assert (
            image[int(y0) : int(y1), int(x0) : int(x1)].sum() == image.sum() > 0
        )  # the digit is inside its box
    data = load_npz(
        NpzSource(path=_npz(tmp_path / "b.npz", x, y), classes=[0, 1, 2]), "localization", tmp_path
    )
    assert data.task == "localization" and data.classes == [0, 1, 2]
    np.testing.assert_allclose(data.y[:, 0], y[:, 0])
    np.testing.assert_allclose(data.y[:, 1:] * 32, y[:, 1:], rtol=1e-6)


def test_keypoints_keep_their_order_and_names(tmp_path: Path) -> None:
    x, points = triangle_corners(5, 32, seed=0)
    assert (points[:, 0, 1] < points[:, 1:, 1].min(axis=1)).all()  # the top corner first
    assert (points[:, 1, 0] < points[:, 2, 0]).all()  # then bottom left, bottom right
    data = load_npz(
        NpzSource(path=_npz(tmp_path / "p.npz", x, points), classes=list(CORNERS)), "landmarks", tmp_path
    )
    assert data.classes == list(CORNERS) and data.y.shape == (5, 6)
    np.testing.assert_allclose(data.y.reshape(5, 3, 2) * 32, points, rtol=1e-6)
    unlabelled = load_npz(
        NpzSource(path=_npz(tmp_path / "new.npz", x), classes=list(CORNERS)),
        "landmarks",
        tmp_path,
        labels="optional",
    )
    assert not unlabelled.labelled and unlabelled.y.shape == (5, 6)


def test_masks_from_npz_and_their_refusals(tmp_path: Path) -> None:
    x, masks = shape_masks(4, 16, seed=0)
    classes = ["background", "circle", "square", "triangle"]
    data = load_npz(
        NpzSource(path=_npz(tmp_path / "m.npz", x, masks), classes=classes), "segmentation", tmp_path
    )
    assert data.y.shape == (4, 16, 16) and data.classes == classes
    assert (x[..., 0][masks > 0] >= 140).all()  # shapes are bright where the mask says
    where = tmp_path / "m.npz"
    with pytest.raises(
        DataError, match=r"array 'y' has shape \(4, 8, 8\); segmentation expects masks \(4, 16, 16\)"
    ):
        load_npz(NpzSource(path=_npz(where, x, masks[:, :8, :8])), "segmentation", tmp_path)
    with pytest.raises(DataError, match=r"row 0: class index 3 is not in 0..1 \(2 classes\)"):
        bad = masks.copy()
        bad[0, 0, 0] = 3
        load_npz(NpzSource(path=_npz(where, x, bad), classes=["a", "b"]), "segmentation", tmp_path)
    with pytest.raises(DataError, match=r"localization expects \(4, 5\): class, x_min, y_min, x_max, y_max"):
        load_npz(NpzSource(path=_npz(where, x, masks)), "localization", tmp_path)
    boxes = np.array([[0, 1, 1, 20, 5]] * 4)
    with pytest.raises(DataError, match=r"row 0: box \[1.0, 1.0, 20.0, 5.0\] is not inside the 16x16 image"):
        load_npz(NpzSource(path=_npz(where, x, boxes)), "localization", tmp_path)
    with pytest.raises(DataError, match=r"landmarks expects \(4, points, 2\)"):
        load_npz(NpzSource(path=_npz(where, x, boxes)), "landmarks", tmp_path)


def _folder(root: Path, masks: np.ndarray, palette: dict[int, tuple[int, int, int]] | None = None) -> None:
    (root / "images" / "sub").mkdir(parents=True)
    (root / "masks" / "sub").mkdir(parents=True)
    for i, mask in enumerate(masks):
        name = f"sub/img{i}" if i == 0 else f"img{i}"
        Image.fromarray((mask * 80).astype(np.uint8)).save(root / "images" / f"{name}.jpg")
        if palette is None:
            Image.fromarray(mask.astype(np.uint8)).save(root / "masks" / f"{name}.png")
        else:
            rgb = np.zeros((*mask.shape, 3), np.uint8)
            for k, colour in palette.items():
                rgb[mask == k] = colour
            Image.fromarray(rgb).save(root / "masks" / f"{name}.png")


def test_masks_folder_reads_grey_index_masks_and_resizes_by_nearest_pixel(tmp_path: Path) -> None:
    masks = np.zeros((2, 8, 8), np.uint8)
    masks[0, :4, :4] = 1
    masks[1, 4:, 4:] = 2
    _folder(tmp_path / "d", masks)
    spec = MaskFolderSource(
        path=Path("d"), image_size=(4, 4), color_mode="grayscale", classes=["bg", "a", "b"]
    )
    data = load_masks(spec, "segmentation", tmp_path)
    assert data.ids.tolist() == ["img1.jpg", "sub/img0.jpg"]
    assert data.x.shape == (2, 4, 4, 1) and data.y.shape == (2, 4, 4)
    assert sorted(np.unique(data.y[1]).tolist()) == [0, 1]  # nearest pixel: no blended index
    assert data.y[1][:2, :2].tolist() == [[1, 1], [1, 1]]
    new = load_masks(spec, "segmentation", tmp_path / "d" / "..", labels="optional")
    assert new.labelled
    (tmp_path / "e" / "images").mkdir(parents=True)
    Image.fromarray(masks[0] * 80).save(tmp_path / "e" / "images" / "x.png")
    unlabelled = load_masks(
        spec.model_copy(update={"path": Path("e")}), "segmentation", tmp_path, labels="optional"
    )
    assert not unlabelled.labelled and unlabelled.y.shape == (1, 4, 4)


def test_masks_folder_maps_palette_colours_and_names_a_stray_colour(tmp_path: Path) -> None:
    masks = np.zeros((2, 4, 4), np.uint8)
    masks[:, 1:3, 1:3] = 1
    palette = {0: (0, 0, 0), 1: (255, 0, 0)}
    _folder(tmp_path / "d", masks, palette)
    spec = MaskFolderSource(path=Path("d"), image_size=(4, 4), palette={"bg": (0, 0, 0), "red": (255, 0, 0)})
    data = load_masks(spec, None, tmp_path)
    assert data.classes == ["bg", "red"] and data.x.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(data.y[0], masks[0])
    narrow = spec.model_copy(update={"palette": {"bg": (0, 0, 0), "green": (0, 255, 0)}})
    with pytest.raises(
        DataError, match=r"img1.png: colour \(255, 0, 0\) at x=1, y=1 is not in data.source.palette"
    ):
        load_masks(narrow, None, tmp_path)


def test_masks_folder_refusals(tmp_path: Path) -> None:
    masks = np.zeros((1, 4, 4), np.uint8)
    _folder(tmp_path / "d", masks)
    (tmp_path / "d" / "masks" / "sub" / "img0.png").unlink()
    spec = MaskFolderSource(path=Path("d"), image_size=(4, 4))
    with pytest.raises(DataError, match=r"img0.jpg: no mask .*img0.png"):
        load_masks(spec, "segmentation", tmp_path)
    with pytest.raises(
        RecipeError,
        match=r"data.task: a masks source gives a class per pixel: task segmentation \(got multiclass\)",
    ):
        load_masks(spec, "multiclass", tmp_path)
    with pytest.raises(DataError, match=r"no 'images' sub-folder"):
        load_masks(spec.model_copy(update={"path": Path("nowhere")}), "segmentation", tmp_path)
