"""Known answers for the image tasks' maths: box IoU, point errors, per-class mask IoU and Dice."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.boxes import box_iou, point_errors, within
from dlkit.analysis.image_errors import landmarks_report, segmentation_report
from dlkit.analysis.masks import image_scores, mask_scores, row_means


def test_box_iou_of_hand_worked_boxes() -> None:
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 4, 2], [1, 1, 1, 3]])
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [2, 2, 4, 4], [2, 0, 6, 2], [1, 1, 1, 3]])
    # 1/(4+4-1); identical; touching corners; half overlap 4/(8+8-4); both empty
    np.testing.assert_allclose(box_iou(a, b), [1 / 7, 1.0, 0.0, 1 / 3, 0.0])
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(50 / 150)


def test_box_iou_does_not_change_with_the_unit_of_each_axis() -> None:
    a, b = np.array([[1, 2, 5, 6]]), np.array([[2, 3, 6, 8]])
    scale = np.array([1 / 32, 1 / 48, 1 / 32, 1 / 48])
    np.testing.assert_allclose(box_iou(a * scale, b * scale), box_iou(a, b))


def test_box_iou_refuses_arrays_of_other_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        box_iou(np.zeros((2, 4)), np.zeros((3, 4)))


def test_point_errors_and_share_within_a_threshold() -> None:
    pred = np.array([[0.0, 0.0, 0.3, 0.4]])  # flattened x0, y0, x1, y1
    true = np.array([[0.0, 0.0, 0.0, 0.0]])
    errors = point_errors(pred, true)
    np.testing.assert_allclose(errors, [[0.0, 0.5]])  # a 3-4-5 triangle
    np.testing.assert_allclose(point_errors(pred.reshape(1, 2, 2), true.reshape(1, 2, 2)), errors)
    assert within(errors, 0.05) == 0.5
    assert within(errors, 0.5) == 1.0
    assert math.isnan(within(np.zeros((0, 2)), 0.1))


def test_per_class_iou_and_dice_of_hand_made_masks() -> None:
    true = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]])
    pred = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 0]])
    s = mask_scores(true, pred, 4)
    # class 0: TP 4, FP 2 (two pixels called 0), FN 0 -> IoU 4/6, Dice 8/10
    # class 1: TP 3, FP 0, FN 1 -> 3/4, 6/7; class 2: TP 7, FN 1 -> 7/8, 14/15; class 3: absent
    np.testing.assert_allclose(s.iou[:3], [4 / 6, 3 / 4, 7 / 8])
    np.testing.assert_allclose(s.dice[:3], [8 / 10, 6 / 7, 14 / 15])
    assert math.isnan(s.iou[3]) and math.isnan(s.dice[3])
    assert s.mean_iou == pytest.approx((4 / 6 + 3 / 4 + 7 / 8) / 3)
    assert s.mean_dice == pytest.approx((8 / 10 + 6 / 7 + 14 / 15) / 3)
    assert s.pixel_accuracy == pytest.approx(14 / 16)


def test_pixels_are_pooled_over_a_set_and_images_scored_alone() -> None:
    true = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]])
    pred = np.array([[[1, 0], [0, 0]], [[1, 0], [0, 0]]])
    s = mask_scores(true, pred, 2)
    # class 1 over the set: TP 1, FN 1, FP 1 -> 1/3
    assert s.iou[1] == pytest.approx(1 / 3)
    ious, accuracy = image_scores(true, pred, 2)
    np.testing.assert_allclose(ious, [[2 / 3, 1 / 2], [3 / 4, 0.0]])
    np.testing.assert_allclose(accuracy, [3 / 4, 3 / 4])
    np.testing.assert_allclose(row_means(np.array([[1.0, np.nan], [np.nan, np.nan]])), [1.0, np.nan])


def test_segmentation_reading_by_class_and_worst_images() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "image_iou": [0.9, 0.3, 0.6],
            "pixel_accuracy": [0.95, 0.5, 0.8],
            "iou_background": [0.9, 0.5, 0.8],
            "iou_circle": [0.9, 0.1, np.nan],
        }
    )
    r = segmentation_report(frame, ["background", "circle"], ["iou_background", "iou_circle"], top=2)
    by_class = r.tables[0][1]
    assert by_class["class"].tolist() == ["circle", "background"]  # weakest first
    assert by_class["images"].tolist() == [2, 3]
    assert by_class["mean_iou"].tolist() == pytest.approx([0.5, 2.2 / 3])
    assert by_class["under_0.5"].tolist() == pytest.approx([0.5, 0.0])
    assert r.tables[1][1]["id"].tolist() == ["b", "c"]
    assert r.error == pytest.approx(1 - 1.8 / 3)
    assert "weakest class: circle" in r.summary


def test_landmarks_reading_by_point_and_worst_images() -> None:
    frame = pd.DataFrame(
        {
            "id": [0, 1],
            "error_top": [0.01, 0.02],
            "error_left": [0.10, 0.04],
            "nme": [0.055, 0.03],
            "worst_point": ["left", "left"],
        }
    )
    r = landmarks_report(frame, ["top", "left"], ["error_top", "error_left"], threshold=0.05)
    by_point = r.tables[0][1]
    assert by_point["point"].tolist() == ["left", "top"]
    assert by_point["pck"].tolist() == [0.5, 1.0]
    assert by_point["worst_in"].tolist() == [1.0, 0.0]
    assert r.tables[1][1]["id"].tolist() == [0, 1]
    assert r.error == pytest.approx(0.0425)
