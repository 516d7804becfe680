"""``dlkit predict`` and ``dlkit evaluate``: a finished run's model on new data, read as training read.

One tiny trained run per data kind (a tracked CSV table, an image folder, a text table), made once
per module: predicting the raw rows of the run's own dev set must give the run's stored dev
predictions, and evaluating them its dev metrics.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow

runner = CliRunner()

TRAIN = "train: {epochs: 2, batch_size: 16, optimizer: {type: adam, learning_rate: 0.02}}"
SPLIT = "split: {train: 0.6, dev: 0.2, test: 0.2}"


def _train(folder: Path, body: str, tracking: str = "") -> Path:
    text = f"name: p\nseed: 0\n{body}\n{TRAIN}\ntracking: {{runs_dir: {folder / 'runs'}{tracking}}}\n"
    recipe = api.load_recipe(write_recipe(folder, text))
    return api.train(recipe, track=bool(tracking)).run_dir


def _dev_ids(run_dir: Path) -> list[object]:
    manifest = pd.read_parquet(run_dir / "split" / "manifest.parquet")
    return manifest.loc[manifest["set"] == "dev", "id"].tolist()


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> tuple[Path, str]:
    """A tracked 3-class CSV run with an id column (real SQLite store): its run dir and store."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    label = np.select([x[:, 0] > 0.5, x[:, 1] > 0], ["hi", "mid"], "lo")
    frame = pd.DataFrame(
        {"key": [f"r{i}" for i in range(150)], "a": x[:, 0], "b": x[:, 1] * 10, "c": x[:, 2]}
    )
    frame["label"] = label
    frame.round(4).to_csv(folder / "rows.csv", index=False)
    shutil.copy(migrated_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    body = (
        f"data:\n  source: {{type: csv, path: {folder / 'rows.csv'}, target: label, id_column: key}}\n"
        f"  {SPLIT}\nmodel: {{type: mlp, units: [8]}}"
    )
    return _train(folder, body, f", uri: '{uri}'"), uri


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untracked 3-class image-folder run (8x8 grayscale PNGs)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    for k, name in enumerate(["circle", "square", "stripe"]):
        for i in range(12):
            path = folder / "imgs" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray((rng.integers(0, 120, size=(8, 8)) + 60 * k).astype(np.uint8)).save(path)
    body = (
        f"data:\n  source: {{type: images, path: {folder / 'imgs'}, image_size: [8, 8], "
        f"color_mode: grayscale}}\n  {SPLIT}\nmodel: {{type: cnn, filters: [4], dense: [8]}}"
    )
    return _train(folder, body)


def _rows(run_dir: Path, path: Path, ids: list[object], drop: tuple[str, ...] = ()) -> Path:
    """The source rows of ``ids`` (raw, as in the file), written to ``path``."""
    source = Path(api.load_recipe(run_dir / "recipe.yaml").data.source.path)  # type: ignore[union-attr]
    frame = pd.read_csv(source)
    key = "key" if "key" in frame.columns else None
    picked = frame.set_index(key).loc[ids].reset_index() if key else frame.iloc[ids]
    picked.drop(columns=list(drop)).to_csv(path, index=False)
    return path


def _assert_same_predictions(new: pd.DataFrame, stored: pd.DataFrame) -> None:
    stored = stored.set_index("id").loc[new["id"]].reset_index()
    probas = [c for c in stored.columns if c.startswith("proba_")]
    assert probas and [c for c in new.columns if c.startswith("proba_")] == probas
    np.testing.assert_allclose(new[probas].to_numpy(), stored[probas].to_numpy(), atol=1e-5)
    assert new["y_pred"].astype(str).tolist() == stored["y_pred"].astype(str).tolist()


def test_predict_dev_rows_without_labels_gives_the_stored_dev_predictions(
    table_run: tuple[Path, str], workdir: Path
) -> None:
    run_dir, uri = table_run
    ids = _dev_ids(run_dir)
    data = _rows(run_dir, workdir / "new.csv", ids, drop=("label",))
    run_id = json.loads((run_dir / "run.json").read_text())["run_id"]
    result = runner.invoke(app, ["predict", run_id, str(data), "--tracking-uri", uri, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == len(ids) and report["labelled"] is False
    out = Path(report["out"])
    assert out == workdir / "new.predictions.parquet"
    new = pd.read_parquet(out)
    assert new["id"].tolist() == ids
    assert not {"y_true", "correct", "loss"} & set(new.columns)
    _assert_same_predictions(new, pd.read_parquet(run_dir / "predictions" / "dev.parquet"))


def test_predict_writes_csv_or_parquet_by_suffix(table_run: tuple[Path, str], workdir: Path) -> None:
    run_dir, _ = table_run
    data = _rows(run_dir, workdir / "new.csv", _dev_ids(run_dir)[:5])
    for name, read in (("p.parquet", pd.read_parquet), ("p.csv", pd.read_csv)):
        result = runner.invoke(app, ["predict", str(run_dir), str(data), "--out", str(workdir / name)])
        assert result.exit_code == 0, result.output
        frame = read(workdir / name)
        assert len(frame) == 5 and {"id", "y_true", "y_pred", "correct", "proba_0"} <= set(frame.columns)
    assert (workdir / "p.parquet").read_bytes()[:4] == b"PAR1"


def test_evaluate_dev_rows_reproduces_the_run_dev_metrics(table_run: tuple[Path, str], workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    run_dir, uri = table_run
    run_id = json.loads((run_dir / "run.json").read_text())["run_id"]
    client = MlflowClient(uri)
    before = client.get_run(run_id).data
    data = _rows(run_dir, workdir / "dev.csv", _dev_ids(run_dir))
    result = runner.invoke(app, ["evaluate", str(run_dir), str(data), "--json", "--diagnose"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    stored = json.loads((run_dir / "metrics.json").read_text())["dev"]
    assert report["metrics"].keys() == stored.keys()
    for key, value in stored.items():
        assert report["metrics"][key] == pytest.approx(value, abs=1e-5)
    shifts = {s["against"]: s for s in report["diagnose"]["shifts"]}
    assert shifts["dev"]["value"] == pytest.approx(0.0, abs=1e-9)  # the same examples, the same error
    assert shifts["dev"]["status"] == "unclear"
    # recorded in a nested MLflow run; the evaluated run is left as it was
    child = client.get_run(report["mlflow_run_id"])
    assert child.data.tags["mlflow.parentRunId"] == run_id and child.info.status == "FINISHED"
    assert child.data.tags["dlkit.data"] == str(data) and child.info.run_name == "evaluate-dev.csv"
    assert child.data.metrics == pytest.approx(report["metrics"])
    after = client.get_run(run_id).data
    assert after.metrics == before.metrics and after.params == before.params


def test_evaluate_errors_writes_the_sheet_of_this_set(table_run: tuple[Path, str], workdir: Path) -> None:
    run_dir, _ = table_run
    data = _rows(run_dir, workdir / "dev.csv", _dev_ids(run_dir))
    result = runner.invoke(
        app, ["evaluate", str(run_dir), str(data), "--errors", "--out", str(workdir / "e.csv"), "--no-track"]
    )
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(workdir / "e.csv")
    sheet = pd.read_csv(workdir / "e.errors.csv")
    wrong = predictions.loc[~predictions["correct"], "id"]
    assert len(sheet) == min(len(wrong), 100) and set(sheet["id"]) <= set(wrong)


def test_missing_feature_column_and_unseen_label_are_one_line_errors(
    table_run: tuple[Path, str], workdir: Path
) -> None:
    run_dir, _ = table_run
    data = _rows(run_dir, workdir / "nob.csv", _dev_ids(run_dir)[:5], drop=("b",))
    result = runner.invoke(app, ["predict", str(run_dir), str(data)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {data}: no feature column 'b'."), result.output
    assert "Traceback" not in result.output

    frame = pd.read_csv(_rows(run_dir, workdir / "odd.csv", _dev_ids(run_dir)[:5]))
    frame.loc[3, "label"] = "zero"
    frame.to_csv(workdir / "odd.csv", index=False)
    result = runner.invoke(app, ["evaluate", str(run_dir), str(workdir / "odd.csv")])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first == (
        f"error: {workdir / 'odd.csv'}: target column 'label': label 'zero' at line 5 is not one of the "
        "classes ['hi', 'lo', 'mid']"
    )

    (workdir / "empty.csv").write_text("")
    result = runner.invoke(app, ["predict", str(run_dir), str(workdir / "empty.csv")])
    assert result.exit_code == 1 and result.output.startswith(f"error: {workdir / 'empty.csv'}: cannot read")
    (workdir / "header.csv").write_text("key,a,b,c\n")
    result = runner.invoke(app, ["predict", str(run_dir), str(workdir / "header.csv")])
    assert (
        result.exit_code == 1 and result.output.splitlines()[0] == f"error: {workdir / 'header.csv'}: no rows"
    )
    unlabelled = _rows(run_dir, workdir / "nolabel.csv", _dev_ids(run_dir)[:5], drop=("label",))
    result = runner.invoke(app, ["evaluate", str(run_dir), str(unlabelled)])  # evaluate needs labels
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"error: {unlabelled}: no target column 'label'."


def test_image_folder_predict_and_evaluate_on_dev_images(image_run: Path, workdir: Path) -> None:
    from PIL import Image

    ids = _dev_ids(image_run)
    source = Path(api.load_recipe(image_run / "recipe.yaml").data.source.path)  # type: ignore[union-attr]
    for rel in ids:  # the dev images, in their class folders
        (workdir / "dev" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / rel, workdir / "dev" / rel)
    result = runner.invoke(app, ["evaluate", str(image_run), str(workdir / "dev"), "--json"])
    assert result.exit_code == 0, result.output
    stored = json.loads((image_run / "metrics.json").read_text())["dev"]
    for key, value in stored.items():
        assert json.loads(result.output)["metrics"][key] == pytest.approx(value, abs=1e-5)

    (workdir / "flat").mkdir()
    for rel in ids:  # the same images, unlabelled: a flat folder
        shutil.copy(source / rel, workdir / "flat" / rel.replace("/", "_"))
    result = runner.invoke(app, ["predict", str(image_run), str(workdir / "flat"), "--out", "flat.csv"])
    assert result.exit_code == 0, result.output
    new = pd.read_csv(workdir / "flat.csv")
    new["id"] = new["id"].str.replace("_", "/", n=1)
    _assert_same_predictions(new, pd.read_parquet(image_run / "predictions" / "dev.parquet"))

    (workdir / "big" / "circle").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(workdir / "big" / "circle" / "x.png")
    (workdir / "big" / "zebra").mkdir()
    result = runner.invoke(app, ["evaluate", str(image_run), str(workdir / "big")])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"error: {workdir / 'big' / 'zebra'}: class 'zebra' was never seen in training "
        "(classes: circle, square, stripe)"
    )


def test_text_predict_on_raw_text_equals_the_stored_predictions(workdir: Path) -> None:
    rng = np.random.default_rng(2)
    good, bad = ["great", "fine", "lovely", "nice"], ["awful", "bad", "poor", "dull"]
    rows = []
    for i in range(120):
        positive = bool(i % 2)
        words = list(rng.choice(good if positive else bad, 3)) + list(rng.choice(["the", "a", "film"], 2))
        rows.append({"review": " ".join(words), "label": "pos" if positive else "neg"})
    pd.DataFrame(rows).to_csv(workdir / "reviews.csv", index=False)
    body = (
        f"data:\n  source: {{type: text, path: {workdir / 'reviews.csv'}, text: review, target: label, "
        f"output_sequence_length: 6}}\n  {SPLIT}\nmodel: {{type: rnn, cell: simple_rnn, units: [4], "
        "embedding: {output_dim: 4}}"
    )
    run_dir = _train(workdir, body)
    ids = _dev_ids(run_dir)
    frame = pd.read_csv(workdir / "reviews.csv").iloc[ids]
    frame.loc[:, ["review"]].assign(review=frame["review"].str.upper()).to_csv(
        workdir / "new.csv", index=False
    )
    result = api.predict(run_dir, workdir / "new.csv")
    assert result.labelled is False and result.n == len(ids)
    new = pd.read_parquet(result.out)
    new["id"] = ids  # row numbers of new.csv -> the run's ids
    _assert_same_predictions(new, pd.read_parquet(run_dir / "predictions" / "dev.parquet"))


def test_npz_images_predict_without_labels_and_wrong_channels(workdir: Path) -> None:
    rng = np.random.default_rng(3)
    y = np.arange(60) % 2
    x = rng.normal(size=(60, 6, 6, 1)).astype(np.float32) + y[:, None, None, None]
    np.savez(workdir / "imgs.npz", x=x, y=y)
    body = (
        f"data:\n  source: {{type: npz, path: {workdir / 'imgs.npz'}}}\n  {SPLIT}\n"
        "model: {type: cnn, filters: [2], dense: [4]}"
    )
    run_dir = _train(workdir, body)
    ids = np.asarray(_dev_ids(run_dir))
    np.savez(workdir / "new.npz", x=x[ids])  # no label array
    result = api.predict(run_dir, workdir / "new.npz", workdir / "new.parquet")
    new = pd.read_parquet(result.out)
    new["id"] = ids
    _assert_same_predictions(new, pd.read_parquet(run_dir / "predictions" / "dev.parquet"))

    np.savez(workdir / "rgb.npz", x=np.repeat(x[:4], 3, axis=-1))
    cli = runner.invoke(app, ["predict", str(run_dir), str(workdir / "rgb.npz")])
    assert cli.exit_code == 1
    assert cli.output.splitlines()[0] == (
        f"error: {workdir / 'rgb.npz'}: inputs of shape (6, 6, 3) (height, width, channels); "
        f"run '{run_dir.name}' was trained on (6, 6, 1)"
    )
