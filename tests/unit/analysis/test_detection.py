"""Known answers for the detection maths: IoU, NMS, the YOLO encoding and back, AP against
pycocotools (the COCO reference implementation) on the same boxes, k-means anchors."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.detection import (
    ImageBoxes,
    average_precision,
    batched_nms,
    decode,
    detection_scores,
    encode,
    encoded_boxes,
    iou,
    kmeans_anchors,
    match,
    nms,
)


def test_iou_of_hand_worked_boxes() -> None:
    a = np.array([[0, 0, 2, 2], [0, 0, 4, 4]])
    b = np.array([[1, 1, 3, 3], [5, 5, 6, 6], [0, 0, 2, 2]])
    expected = np.array([[1 / 7, 0, 1], [4 / 16, 0, 4 / 16]])
    np.testing.assert_allclose(iou(a, b), expected)
    # IoU does not change when x and y are scaled separately (pixels or image units)
    scale = np.array([640, 480, 640, 480])
    np.testing.assert_allclose(iou(a * scale, b * scale), expected)


def test_nms_keeps_the_best_of_overlapping_boxes_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # [1,1,11,11] vs [0,0,10,10]: 81 / 119 = 0.68; [0,0,10,9] vs [0,0,10,10]: 0.9
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    assert nms(boxes, scores, 0.7).tolist() == [3, 1, 2]  # 0.68 <= 0.7 survives; 0.9 does not
    classes = np.array([0, 1, 0, 0])  # the second box is another class: never suppressed by class 0
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [3, 1, 2]


def test_yolo_target_puts_a_box_in_its_cell_and_anchor_and_back() -> None:
    anchors = np.array([[0.1, 0.1], [0.4, 0.2]])
    box = np.array([[0.3, 0.55, 0.7, 0.75]])  # centre (0.5, 0.65), size 0.4 x 0.2
    target = encode(box, np.array([2]), anchors, grid=4)
    assert target.shape == (4, 4, 2, 6)
    (row, col, anchor) = (int(v) for v in np.argwhere(target[..., 4] == 1)[0])
    assert (row, col, anchor) == (2, 2, 1)  # row floor(0.65 * 4), column floor(0.5 * 4), the 0.4x0.2 anchor
    np.testing.assert_allclose(target[2, 2, 1], [0.0, 0.6, 0.0, 0.0, 1.0, 2.0], atol=1e-6)
    assert target[..., 4].sum() == 1
    back, classes = encoded_boxes(target, anchors)
    np.testing.assert_allclose(back, box, atol=1e-6)
    assert classes.tolist() == [2]


def test_decoding_raw_outputs_recovers_the_encoded_boxes() -> None:
    anchors = np.array([[0.15, 0.2], [0.35, 0.3]])
    boxes = np.array([[0.05, 0.1, 0.25, 0.3], [0.5, 0.4, 0.9, 0.75]])
    target = encode(boxes, np.array([0, 1]), anchors, grid=3)
    offsets = np.clip(target[..., :2], 1e-6, 1 - 1e-6)
    raw = np.zeros((3, 3, 2, 5 + 2))
    raw[..., :2] = np.log(offsets / (1 - offsets))  # the sigmoid's inverse
    raw[..., 2:4] = target[..., 2:4]
    raw[..., 4] = np.where(target[..., 4] > 0, 12.0, -12.0)
    raw[..., 5:] = 12.0 * np.eye(2)[target[..., 5].astype(int)]
    found = decode(raw, anchors, score_threshold=0.5)
    order = np.argsort(found.classes)
    np.testing.assert_allclose(found.boxes[order], boxes, atol=1e-5)
    assert found.classes[order].tolist() == [0, 1]
    assert (found.scores > 0.99).all()


def test_ap_of_a_hand_worked_ranking() -> None:
    # two true boxes; detections by score: hit, miss, hit -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # interpolated: 1 up to recall 0.5 (51 of the 101 points), 2/3 above (50 points)
    ap = average_precision(np.array([True, False, True]), np.array([0.9, 0.8, 0.7]), n_true=2)
    assert ap == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)
    assert np.isnan(average_precision(np.array([]), np.array([]), n_true=0))


def test_matching_takes_the_best_unmatched_box_of_the_class() -> None:
    truth = np.array([[0, 0, 10, 10], [0, 0, 10, 8]], dtype=float)
    pred = np.array([[0, 0, 10, 9], [0, 0, 10, 9], [0, 0, 10, 10]], dtype=float)
    matched, best = match(pred, np.array([0, 0, 1]), truth, np.array([0, 0]), 0.5)
    # both true boxes overlap the first detection by 0.9 / 0.889: it takes the first, the second
    # detection the other, the third is of another class
    assert matched.tolist() == [0, 1, -1]
    np.testing.assert_allclose(best, [0.9, 0.9, 0.0])


def _random_set(seed: int) -> tuple[list[ImageBoxes], list[ImageBoxes]]:
    rng = np.random.default_rng(seed)
    truth, predicted = [], []
    for _ in range(25):
        k = int(rng.integers(0, 4))
        xy = rng.uniform(0, 0.6, (k, 2))
        wh = rng.uniform(0.1, 0.4, (k, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        classes = rng.integers(0, 3, k)
        truth.append(ImageBoxes(boxes, classes))
        moved = xy + rng.normal(0, 0.03, xy.shape)
        jitter = np.clip(np.concatenate([moved, moved + wh * rng.uniform(0.8, 1.2, wh.shape)], axis=1), 0, 1)
        keep = rng.random(k) < 0.85
        extra = int(rng.integers(0, 3))
        exy = rng.uniform(0, 0.6, (extra, 2))
        false = np.concatenate([exy, exy + rng.uniform(0.1, 0.4, (extra, 2))], axis=1)
        flipped = np.where(rng.random(k) < 0.1, (classes + 1) % 3, classes)
        pred_boxes = np.concatenate([jitter[keep], false]).reshape(-1, 4)
        pred_classes = np.concatenate([flipped[keep], rng.integers(0, 3, extra)]).astype(np.int64)
        scores = rng.random(len(pred_boxes))
        predicted.append(ImageBoxes(pred_boxes, pred_classes, scores))
    return predicted, truth


def _coco_reference(predicted: list[ImageBoxes], truth: list[ImageBoxes]) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    scale = 100.0  # pixels of a 100 x 100 image

    def xywh(b: np.ndarray) -> list[float]:
        return [
            float(b[0] * scale),
            float(b[1] * scale),
            float((b[2] - b[0]) * scale),
            float((b[3] - b[1]) * scale),
        ]

    images = [{"id": i, "width": 100, "height": 100} for i in range(len(truth))]
    annotations = [
        {
            "id": len(images) * 10 + n,
            "image_id": i,
            "category_id": int(c),
            "bbox": xywh(b),
            "area": xywh(b)[2] * xywh(b)[3],
            "iscrowd": 0,
        }
        for i, t in enumerate(truth)
        for n, (b, c) in enumerate(zip(t.boxes, t.classes, strict=True))
    ]
    for k, a in enumerate(annotations):
        a["id"] = k + 1
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in range(3)]}
    gt.createIndex()
    dets = [
        {"image_id": i, "category_id": int(c), "bbox": xywh(b), "score": float(s)}
        for i, p in enumerate(predicted)
        for b, c, s in zip(p.boxes, p.classes, p.scores, strict=True)
    ]
    evaluation = COCOeval(gt, gt.loadRes(dets), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_equals_pycocotools(seed: int) -> None:
    pytest.importorskip("pycocotools")
    predicted, truth = _random_set(seed)
    ours = detection_scores(predicted, truth, n_classes=3)
    coco_map, coco_map50 = _coco_reference(predicted, truth)
    assert 0.1 < ours.map50 < 0.99  # a set with hits, misses and false detections
    assert ours.map50 == pytest.approx(coco_map50, abs=1e-9)
    assert ours.map == pytest.approx(coco_map, abs=1e-9)


def test_precision_recall_and_iou_of_a_small_set() -> None:
    truth = [ImageBoxes(np.array([[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]), np.array([0, 1]))]
    predicted = [
        ImageBoxes(np.array([[0, 0, 0.5, 0.4], [0.1, 0.6, 0.3, 0.9]]), np.array([0, 1]), np.array([0.9, 0.8]))
    ]
    scores = detection_scores(predicted, truth, n_classes=2)
    assert scores.precision50 == 0.5 and scores.recall50 == 0.5  # one hit (IoU 0.8), one false detection
    assert scores.mean_iou == pytest.approx(0.8)
    assert scores.ap50 == {0: 1.0, 1: 0.0}
    assert scores.map50 == 0.5


def test_kmeans_anchors_find_the_two_shapes() -> None:
    rng = np.random.default_rng(0)
    small = np.tile([0.1, 0.1], (30, 1)) + rng.normal(0, 0.002, (30, 2))
    wide = np.tile([0.5, 0.3], (20, 1)) + rng.normal(0, 0.002, (20, 2))
    anchors = kmeans_anchors(np.concatenate([wide, small]), 2)
    np.testing.assert_allclose(anchors, [[0.1, 0.1], [0.5, 0.3]], atol=0.005)
    with pytest.raises(ValueError, match="3 anchors need at least 3 distinct box shapes"):
        kmeans_anchors(np.array([[0.1, 0.1], [0.2, 0.2]]), 3)


def test_detection_errors_count_misses_and_false_detections_by_class_size_and_iou() -> None:
    import json

    import pandas as pd

    from dlkit.analysis.detection import detection_errors

    def boxes(*items: dict) -> str:
        return json.dumps(list(items))

    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "y_true": [
                boxes({"class": "cat", "box": [0, 0, 10, 10], "found": True}),
                boxes({"class": "dog", "box": [0, 0, 50, 50], "found": False}),
                boxes({"class": "cat", "box": [0, 0, 10, 10], "found": True}),
            ],
            "y_pred": [
                boxes({"class": "cat", "score": 0.9, "box": [0, 0, 10, 10], "iou": 1.0, "hit": True}),
                boxes(
                    {"class": "dog", "score": 0.8, "box": [0, 0, 30, 30], "iou": 0.36, "hit": False},
                    {"class": "cat", "score": 0.7, "box": [60, 60, 70, 70], "iou": 0.0, "hit": False},
                ),
                boxes(
                    {"class": "cat", "score": 0.9, "box": [0, 0, 10, 10], "iou": 1.0, "hit": True},
                    {"class": "cat", "score": 0.6, "box": [0, 0, 10, 11], "iou": 0.91, "hit": False},
                ),
            ],
            "misses": [0, 1, 0],
            "false_detections": [0, 2, 1],
            "width": [100, 100, 100],
            "height": [100, 100, 100],
        }
    )
    errors = detection_errors(frame, ["cat", "dog"])
    assert (errors.n_images, errors.n_errors) == (3, 2)
    rows = {r.group: (r.n_true, r.misses, r.n_pred, r.false_detections) for r in errors.by_class}
    assert rows == {"cat": (2, 0, 4, 2), "dog": (1, 1, 1, 1)}
    sizes = {r.group.split()[0]: (r.n_true, r.misses) for r in errors.by_size}
    assert sizes == {"small": (2, 0), "medium": (0, 0), "large": (1, 1)}  # sides 0.1 and 0.5
    assert dict(errors.by_iou) == {
        "background (IoU < 0.1)": 1,
        "poor box (0.1-0.3)": 0,
        "near miss (0.3-0.5)": 1,
        "duplicate (>= 0.5)": 1,
    }
    assert errors.worst == ["b", "c"]
