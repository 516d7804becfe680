"""`dlkit train` on streamed sources: batches read from the files (never a set whole), the same
histories, metrics and predictions as the same data loaded whole, and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

CSV_RECIPE = """
name: stream-csv
seed: 4
data:
  source: {{type: csv, path: rows.csv, target: label, metadata: [site], stream: {stream}}}
  split: {{train: 0.6, dev: 0.2, test: 0.2}}
model: {{type: mlp, units: [8], dropout: 0.2}}
train: {{epochs: 3, batch_size: 16, optimizer: {{type: adam, learning_rate: 0.01}}}}
tracking: {{runs_dir: runs-{stream}}}
"""

IMAGE_RECIPE = """
name: stream-images
seed: 2
data:
  source: {{type: images, path: imgs, image_size: [8, 8], color_mode: grayscale, stream: {stream}}}
  split: {{train: 0.6, dev: 0.2, test: 0.2}}
model: {{type: cnn, filters: [4], dense: [8]}}
train: {{epochs: 2, batch_size: 8, optimizer: {{type: adam, learning_rate: 0.01}}}}
tracking: {{runs_dir: runs-{stream}}}
"""


def _csv(folder: Path, n: int = 240) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [0.0, 20.0, -3.0]
    label = np.where(x[:, 0] + (x[:, 1] - 20) / 5 > 0, "yes", "no")
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "site": rng.choice(["x", "y"], n)})
    frame["label"] = label
    frame.round(4).to_csv(folder / "rows.csv", index=False)


def _images(folder: Path, per_class: int = 15) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for k, name in enumerate(["circle", "square", "stripe"]):
        for i in range(per_class):
            pixels = rng.integers(0, 120, size=(8, 8)) + 60 * k
            path = folder / "imgs" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.astype(np.uint8)).save(path)


def _train_both(workdir: Path, recipe: str) -> tuple[api.TrainResult, api.TrainResult]:
    results = []
    for stream in ("true", "false"):
        path = write_recipe(workdir, recipe.format(stream=stream), f"{stream}.yaml")
        results.append(api.train(api.load_recipe(path), track=False))
    return results[0], results[1]


def _assert_same_run(streamed: api.TrainResult, whole: api.TrainResult) -> None:
    for a, b in zip(streamed.history, whole.history, strict=True):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6)
    assert streamed.metrics.keys() == whole.metrics.keys()
    for name in whole.metrics:
        assert streamed.metrics[name] == pytest.approx(whole.metrics[name], rel=1e-4, abs=1e-6)
        a = pd.read_parquet(streamed.run_dir / "predictions" / f"{name}.parquet")
        b = pd.read_parquet(whole.run_dir / "predictions" / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b, rtol=1e-4, atol=1e-6)
    assert json.loads((streamed.run_dir / "metrics.json").read_text()) == streamed.metrics


@pytest.fixture
def no_whole_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if training reads a streamed set into memory (``pipeline.inputs``)."""
    from dlkit.data import pipeline

    loaded = pipeline.inputs

    def inputs(data, indices):  # type: ignore[no-untyped-def]
        if data.stream:
            raise AssertionError(f"a streamed set of {len(indices)} examples was read whole")
        return loaded(data, indices)

    monkeypatch.setattr(pipeline, "inputs", inputs)


def test_streamed_csv_trains_as_if_loaded_whole(workdir: Path, no_whole_sets: None) -> None:
    _csv(workdir)
    streamed, whole = _train_both(workdir, CSV_RECIPE)
    assert streamed.split_sizes == whole.split_sizes
    assert streamed.metrics["dev"]["accuracy"] > 0.7  # it learned, not just ran
    _assert_same_run(streamed, whole)
    frame = pd.read_parquet(streamed.run_dir / "predictions" / "test.parquet")
    assert list(frame.columns[:6]) == ["id", "y_true", "y_pred", "correct", "confidence", "loss"]
    assert "site" in frame.columns and len(frame) == streamed.split_sizes["test"]


def test_streamed_image_folder_trains_as_if_loaded_whole(workdir: Path, no_whole_sets: None) -> None:
    _images(workdir)
    streamed, whole = _train_both(workdir, IMAGE_RECIPE)
    _assert_same_run(streamed, whole)  # its second epoch read the first's decoded images back
    assert not (streamed.run_dir / "scratch").exists()  # removed with the run's end
    frame = pd.read_parquet(streamed.run_dir / "predictions" / "dev.parquet")
    assert frame["id"].str.endswith(".png").all() and len(frame) == streamed.split_sizes["dev"]


def test_streamed_run_resumes_to_the_uninterrupted_run(workdir: Path, no_whole_sets: None) -> None:
    _csv(workdir)
    path = write_recipe(workdir, CSV_RECIPE.format(stream="true"))
    full = api.train(api.load_recipe(path, ["tracking.runs_dir=a"]), track=False)

    def stop_after_one(event) -> None:  # type: ignore[no-untyped-def]
        if event.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.train(api.load_recipe(path, ["tracking.runs_dir=b"]), track=False, on_epoch=stop_after_one)
    (run_dir,) = (workdir / "b").iterdir()
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "resumed after epoch 1" in result.output
    resumed = json.loads((run_dir / "metrics.json").read_text())
    history = pd.read_csv(run_dir / "history.csv").drop(columns="epoch").to_dict("records")
    assert len(history) == len(full.history)
    # pytest.approx takes no nested structures (pytest 9): one epoch's dict at a time
    for row, expected in zip(history, full.history, strict=True):
        assert row == pytest.approx(expected)
    assert resumed.keys() == full.metrics.keys()
    for name, metrics in full.metrics.items():
        assert resumed[name] == pytest.approx(metrics)


def test_tune_reads_a_streamed_source(workdir: Path) -> None:
    # trials train in memory: the streamed sets are read whole (a zero-width x before)
    _csv(workdir)
    text = CSV_RECIPE.format(stream="true").replace("tracking: {runs_dir: runs-true}\n", "")
    text += "tune: {trials: 2, rounds: 1, space: {model.units.0: {int: [4, 8]}}}\n"
    text = text.replace("epochs: 3", "epochs: 5")
    result = runner.invoke(app, ["tune", str(write_recipe(workdir, text)), "--no-track"])
    assert result.exit_code == 0, result.output
    [study] = [p for p in (workdir / "runs").iterdir() if (p / "study.json").is_file()]
    table = pd.read_csv(study / "trials.csv")
    assert (table["status"] == "COMPLETED").all() and len(table) == 2
    assert (table["dev_accuracy"] > 0.7).all()


def test_streamed_images_train_in_mixed_precision(workdir: Path) -> None:
    """The normaliser adapts on the float32 stream whatever the dtype policy (it computes in
    float32: a float16 variance of 0-255 pixels is near float16's limit), and its statistics
    are those of the same images loaded whole."""
    from dlkit.models import load_model

    _images(workdir)
    found = []
    for stream in ("true", "false"):
        text = IMAGE_RECIPE.format(stream=stream).replace("epochs: 2,", "epochs: 1, mixed_precision: true,")
        result = api.train(api.load_recipe(write_recipe(workdir, text, f"mp-{stream}.yaml")), track=False)
        normalize = load_model(result.run_dir / "model" / "model.keras").get_layer("normalize")
        assert normalize.dtype_policy.compute_dtype == "float32"
        found.append(
            (float(np.asarray(normalize.mean).ravel()[0]), float(np.asarray(normalize.variance).ravel()[0]))
        )
    assert found[0] == pytest.approx(found[1], rel=1e-5)


@pytest.mark.slow
def test_a_streamed_run_parses_its_table_once_and_never_reads_a_killed_runs_cache(
    workdir: Path, no_whole_sets: None
) -> None:
    """The first epoch keeps the parsed train and dev rows in the run's scratch folder, which is
    gone when the run ends; a resumed run ignores what a killed one left there (a lock file, a
    cache that looks complete) and trains on the uninterrupted run's batches."""
    _csv(workdir)
    path = write_recipe(workdir, CSV_RECIPE.format(stream="true"))
    runs: list[Path] = []
    cached: list[list[str]] = []

    def look(event) -> None:  # type: ignore[no-untyped-def]
        cached.append(sorted(p.name for p in (runs[-1] / "scratch").glob("*.index")))
        if event.epoch == 1 and len(runs) == 2:
            raise KeyboardInterrupt

    def train(runs_dir: str) -> api.TrainResult:
        recipe = api.load_recipe(path, [f"tracking.runs_dir={runs_dir}"])
        return api.train(recipe, track=False, on_start=lambda s: runs.append(s.run_dir), on_epoch=look)

    full = train("a")
    assert cached == [["dev.index", "train.index"]] * 3
    assert not (full.run_dir / "scratch").exists()
    with pytest.raises(KeyboardInterrupt):
        train("b")
    run_dir = runs[-1]
    assert not (run_dir / "scratch").exists()
    # what a process killed during its first epoch leaves, and a cache of other rows
    killed = run_dir / "scratch"
    killed.mkdir()
    (killed / "train_0.lockfile").write_text("Created at: 0")
    (killed / "train_0.data-00000-of-00001.tempstate1").write_bytes(b"\0" * 64)
    for name in ("train", "dev"):
        (killed / f"{name}.index").write_bytes(b"\1" * 64)
        (killed / f"{name}.data-00000-of-00001").write_bytes(b"\1" * 64)
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert not killed.exists()
    history = pd.read_csv(run_dir / "history.csv").drop(columns="epoch").to_dict("records")
    for row, expected in zip(history, full.history, strict=True):
        assert row == pytest.approx(expected)
    resumed = json.loads((run_dir / "metrics.json").read_text())
    for name, metrics in full.metrics.items():
        assert resumed[name] == pytest.approx(metrics)
