"""Localisation, landmarks and U-Net segmentation learn generated data to a stated level, and a
segmentation run goes through split, train, MLflow, diagnose, analyze-errors and predict (masks).

Levels (16x16 images, a few hundred examples, a few epochs on CPU): segmentation of squares on
clutter mean IoU >= 0.8; localisation of two digits hit rate (class right, IoU >= 0.5) >= 0.7;
triangle corners nme <= 0.13 of the image side (the train mean's: 0.18). The gallery recipes
reach more (their headers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from dlkit import api
from dlkit.analysis.masks import mask_scores
from dlkit.cli import app
from dlkit.data.shapes import digit_boxes, shape_masks, triangle_corners
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow

runner = CliRunner()


def _mask_folder(root: Path, x: np.ndarray, masks: np.ndarray | None) -> None:
    (root / "images").mkdir(parents=True)
    for i, image in enumerate(x[..., 0]):
        Image.fromarray(image).save(root / "images" / f"s{i:03d}.png")
    if masks is not None:
        (root / "masks").mkdir()
        for i, mask in enumerate(masks):
            Image.fromarray((mask > 0).astype(np.uint8)).save(root / "masks" / f"s{i:03d}.png")


def test_unet_segments_squares_end_to_end(workdir: Path, tracking_uri: str) -> None:
    x, masks = shape_masks(200, 16, seed=1, max_shapes=1, kinds=(2,))
    _mask_folder(workdir / "shapes", x, masks)
    recipe = write_recipe(
        workdir,
        """
        name: squares
        seed: 0
        data:
          source:
            type: masks
            path: shapes
            image_size: [16, 16]
            color_mode: grayscale
            classes: [background, square]
          task: segmentation
          split: {train: 0.7, dev: 0.15, test: 0.15}
        model: {type: unet, depth: 1, filters: 8}
        train: {epochs: 5, batch_size: 16, optimizer: {type: adam, learning_rate: 0.01}}
        tracking: {experiment: squares}
        """,
    )
    split = runner.invoke(app, ["split", str(recipe)])
    assert split.exit_code == 0, split.output
    trained = runner.invoke(app, ["train", str(recipe)])
    assert trained.exit_code == 0, trained.output
    (run,) = (workdir / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dev"]["mean_iou"] >= 0.8 and metrics["test"]["mean_iou"] >= 0.8
    assert metrics["test"]["error"] == pytest.approx(1 - metrics["test"]["mean_iou"])
    assert {"iou_square", "dice_square", "iou_background", "pixel_accuracy"} <= set(metrics["test"])
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    assert list(dev.columns) == ["id", "image_iou", "pixel_accuracy", "loss", "iou_background", "iou_square"]
    # the masks written for dev are the ones scored: pooled again, they give metrics.json's IoU
    written = np.stack(
        [np.asarray(Image.open(run / "predictions" / "dev_masks" / f"{i[:-4]}.png")) for i in dev["id"]]
    )
    truth = np.stack([masks[int(i[1:4])] > 0 for i in dev["id"]])
    assert mask_scores(truth, written, 2).mean_iou == pytest.approx(metrics["dev"]["mean_iou"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("squares").experiment_id])[0]
    assert logged.data.metrics["test_mean_iou"] == pytest.approx(metrics["test"]["mean_iou"])
    assert logged.data.metrics["dev_iou_square"] == pytest.approx(metrics["dev"]["iou_square"])
    assert logged.data.params["data.task"] == "segmentation"

    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.01", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert diagnosis["error_name"].startswith("error = 1 − image IoU")
    assert diagnosis["sets"]["dev"]["error"] == pytest.approx(1 - dev["image_iou"].mean())

    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    analysis = json.loads(analysed.stdout)
    by_class = analysis["tables"]["IoU by class (weakest first)"]
    assert {row["class"] for row in by_class} == {"background", "square"}
    worst = analysis["tables"]["Worst images"]
    assert worst[0]["image_iou"] == pytest.approx(dev["image_iou"].min())
    assert (run / "reports" / "errors.html").read_text().count("Worst images") == 1

    # new images without masks: the masks are written beside the predictions table
    new_x, new_masks = shape_masks(6, 16, seed=7, max_shapes=1, kinds=(2,))
    _mask_folder(workdir / "new", new_x, None)
    predicted = runner.invoke(app, ["predict", str(run), str(workdir / "new"), "--out", "new.csv"])
    assert predicted.exit_code == 0, predicted.output
    table = pd.read_csv(workdir / "new.csv")
    assert list(table.columns) == ["id"]
    out = np.stack([np.asarray(Image.open(workdir / "new_masks" / f"s{i:03d}.png")) for i in range(6)])
    assert mask_scores(new_masks > 0, out, 2).mean_iou >= 0.8


def _train_npz(
    workdir: Path, name: str, task: str, x: np.ndarray, y: np.ndarray, model: str, epochs: int
) -> dict:
    np.savez(workdir / f"{name}.npz", x=x, y=y)
    recipe = write_recipe(
        workdir,
        f"""
        name: {name}
        seed: 0
        data:
          source: {{type: npz, path: {name}.npz}}
          task: {task}
          split: {{train: 0.8, train_dev: 0, dev: 0.2, test: 0}}
        model: {model}
        train: {{epochs: {epochs}, batch_size: 16, optimizer: {{type: adam, learning_rate: 0.005}}}}
        """,
        name=f"{name}.yaml",
    )
    result = api.train(api.load_recipe(recipe, [f"tracking.runs_dir={workdir / 'runs'}"]), track=False)
    return result.metrics


def test_localization_finds_the_digit_and_its_box(workdir: Path) -> None:
    x, y = digit_boxes(200, 16, seed=1, digits=2)
    metrics = _train_npz(
        workdir, "boxes", "localization", x, y, "{type: cnn, filters: [8, 16], dense: [32]}", 10
    )
    dev = metrics["dev"]
    assert dev["hit_rate"] >= 0.7 and dev["mean_iou"] >= 0.6
    assert dev["error"] == pytest.approx(1 - dev["hit_rate"])
    assert dev["hit_rate"] <= min(dev["accuracy"], dev["iou50"])


def test_landmarks_find_the_corners_in_order(workdir: Path) -> None:
    x, points = triangle_corners(200, 16, seed=1)
    metrics = _train_npz(
        workdir, "corners", "landmarks", x, points, "{type: cnn, filters: [8, 16], dense: [32]}", 10
    )
    dev = metrics["dev"]
    assert dev["nme"] <= 0.13  # always predicting train's mean corners: 0.18 on this dev set
    assert dev["error"] == dev["nme"]
    assert {"nme_point_0", "nme_point_1", "nme_point_2", "pck"} <= set(dev)
