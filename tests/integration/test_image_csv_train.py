"""Localisation trained from an image CSV (image, class, x_min, y_min, x_max, y_max) end to end,
then `dlkit predict` on a CSV naming new images only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from dlkit.data.shapes import digit_boxes
from tests.conftest import write_recipe

runner = CliRunner()


def _csv(folder: Path, x: np.ndarray, y: np.ndarray | None) -> Path:
    (folder / "img").mkdir(parents=True)
    names = [f"img/{i:03d}.png" for i in range(len(x))]
    for name, image in zip(names, x, strict=True):
        Image.fromarray(image[..., 0].astype(np.uint8)).save(folder / name)
    frame = pd.DataFrame({"image": names})
    if y is not None:
        frame["class"] = y[:, 0].astype(int)
        for j, side in enumerate(("x_min", "y_min", "x_max", "y_max"), 1):
            frame[side] = y[:, j]
    frame.to_csv(folder / "boxes.csv", index=False)
    return folder / "boxes.csv"


@pytest.mark.slow
def test_localization_learns_from_an_image_csv(workdir: Path) -> None:
    x, y = digit_boxes(200, 16, seed=1, digits=2)
    _csv(workdir / "train", x, y)
    recipe = write_recipe(
        workdir,
        """
        name: csv-boxes
        seed: 0
        data:
          source: {type: image_csv, path: train/boxes.csv, image_size: [16, 16], color_mode: grayscale}
          task: localization
          split: {train: 0.8, train_dev: 0, dev: 0.2, test: 0}
        model: {type: cnn, filters: [8, 16], dense: [32]}
        train: {epochs: 10, batch_size: 16, optimizer: {type: adam, learning_rate: 0.005}}
        """,
    )
    result = api.train(api.load_recipe(recipe, [f"tracking.runs_dir={workdir / 'runs'}"]), track=False)
    dev = result.metrics["dev"]
    assert dev["hit_rate"] >= 0.7 and dev["mean_iou"] >= 0.6  # as from the npz (test_image_tasks_cli)

    new_x, new_y = digit_boxes(10, 16, seed=5, digits=2)
    new = _csv(workdir / "new", new_x, None)
    predicted = runner.invoke(app, ["predict", str(result.run_dir), str(new), "--out", "p.csv"])
    assert predicted.exit_code == 0, predicted.output
    table = pd.read_csv(workdir / "p.csv")
    assert table["id"].tolist() == [f"img/{i:03d}.png" for i in range(10)]
    assert (table["y_pred"].astype(int) == new_y[:, 0].astype(int)).mean() >= 0.7
