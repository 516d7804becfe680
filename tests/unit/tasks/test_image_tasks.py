"""The image tasks score model outputs with known answers and write what a table cannot hold."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dlkit.data.dataset import Dataset
from dlkit.tasks import task_for
from dlkit.tasks.segmentation import mask_file_name


def _data(task: str, classes: list[object], size: int = 10) -> Dataset:
    return Dataset(
        x=np.zeros((1, size, size, 1), np.float32),
        y=np.zeros(1),
        ids=np.arange(1),
        task=task,  # type: ignore[arg-type]
        kind="image",
        classes=classes,
        content_hash="",
        description="test",
    )


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_localization_hit_needs_the_class_and_an_iou_of_a_half() -> None:
    task = task_for("localization")
    data = _data("localization", ["a", "b"])
    box = [_logit(v) for v in (0.1, 0.1, 0.5, 0.5)]  # (1, 1)-(5, 5) on a 10x10 image
    outputs = np.array([[3.0, 0.0, *box], [3.0, 0.0, *box], [0.0, 3.0, *box]])
    y = np.array([[0, 0.1, 0.1, 0.5, 0.5], [0, 0.3, 0.1, 0.7, 0.5], [0, 0.1, 0.1, 0.5, 0.5]])
    scored = task.score(outputs, y, data)
    frame = scored.frame
    np.testing.assert_allclose(frame["iou"], [1.0, 8 / 24, 1.0])  # 2x4 overlap of two 4x4 boxes
    assert frame["correct"].tolist() == [True, False, False]  # box off; class wrong
    assert frame["y_pred"].tolist() == ["a", "a", "b"]
    np.testing.assert_allclose(frame[["x_min", "y_min", "x_max", "y_max"]].iloc[0], [1, 1, 5, 5])
    m = scored.metrics
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["iou50"] == pytest.approx(2 / 3)
    assert m["hit_rate"] == pytest.approx(1 / 3)
    assert m["error"] == pytest.approx(2 / 3)
    assert m["mean_iou"] == pytest.approx((2 + 1 / 3) / 3)
    assert task.frame_metrics(frame, data.classes) == pytest.approx(m)


def test_landmarks_error_is_the_distance_as_a_share_of_the_image_side() -> None:
    task = task_for("landmarks")
    data = _data("landmarks", ["top", "left"], size=20)
    outputs = np.array([[0.5, 0.1, 0.3, 0.4]])
    y = np.array([[0.5, 0.1, 0.0, 0.0]])
    scored = task.score(outputs, y, data)
    row = scored.frame.iloc[0]
    assert row["error_top"] == 0 and row["error_left"] == pytest.approx(0.5)
    assert (row["top_x"], row["top_y"], row["left_x"], row["left_y"]) == pytest.approx((10, 2, 6, 8))
    assert row["worst_point"] == "left"
    assert scored.metrics["nme"] == pytest.approx(0.25)
    assert scored.metrics["pck"] == 0.5
    assert scored.metrics["nme_left"] == pytest.approx(0.5)
    assert list(task.without_truth(scored.frame).columns) == ["top_x", "top_y", "left_x", "left_y"]


def test_segmentation_scores_and_writes_the_predicted_masks(tmp_path: Path) -> None:
    task = task_for("segmentation")
    data = _data("segmentation", ["background", "circle"], size=2)
    truth = np.array([[[1, 1], [0, 0]]])
    proba = np.zeros((1, 2, 2, 2))
    proba[0, 0, 0, 1] = proba[0, 0, 1, 0] = proba[0, 1, 0, 0] = proba[0, 1, 1, 0] = 0.9
    proba[0, 0, 0, 0] = proba[0, 0, 1, 1] = proba[0, 1, 0, 1] = proba[0, 1, 1, 1] = 0.1
    scored = task.score(proba, truth, data)
    assert scored.metrics["iou_circle"] == pytest.approx(0.5)
    assert scored.metrics["iou_background"] == pytest.approx(2 / 3)
    assert scored.metrics["dice_circle"] == pytest.approx(2 / 3)
    assert scored.metrics["pixel_accuracy"] == pytest.approx(0.75)
    assert scored.frame["image_iou"].iloc[0] == pytest.approx((0.5 + 2 / 3) / 2)
    assert scored.frame["loss"].iloc[0] == pytest.approx(-np.log(0.9) * 3 / 4 - np.log(0.1) / 4)
    table = tmp_path / "pred.parquet"
    task.write_outputs(scored, table, np.array(["sub/img 1.png"], dtype=object))
    mask = np.asarray(Image.open(tmp_path / "pred_masks" / "sub_img 1.png"))
    np.testing.assert_array_equal(mask, [[1, 0], [0, 0]])


def test_mask_file_names_follow_the_example_ids() -> None:
    assert mask_file_name(7) == "7.png"
    assert mask_file_name("a/b.jpg") == "a_b.png"


def test_segmentation_refuses_a_model_without_an_output_per_pixel() -> None:
    from dlkit.errors import RecipeError

    recipe: Any = SimpleNamespace(model=SimpleNamespace(type="cnn"))
    with pytest.raises(
        RecipeError,
        match=r"model.type: segmentation .* needs a model with an output per pixel: unet \(got cnn\)",
    ):
        task_for("segmentation").check(recipe, _data("segmentation", [0, 1]))
