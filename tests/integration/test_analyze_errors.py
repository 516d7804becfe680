"""`dlkit analyze-errors` end to end: sheet, tags read back, report, MLflow, no TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()


def _copy_run(digits_run: Path, tmp_path: Path, analysis: dict | None = None) -> Path:
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    if analysis is not None:
        recipe = yaml.safe_load((run / "recipe.yaml").read_text())
        recipe["analysis"] = analysis
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return run


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sheet_of_digits_errors_is_seeded_and_shows_thumbnails(digits_run: Path, tmp_path: Path):
    run = _copy_run(digits_run, tmp_path, {"categories": ["blurry", "looks_like_other"], "sample": 30})
    out = _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"]))
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    n_errors = int((~dev["correct"]).sum())
    assert out["n_errors"] == n_errors and out["error"] == pytest.approx(n_errors / len(dev))
    sheet = pd.read_csv(run / "analysis" / "errors.csv")
    assert list(sheet.columns) == [
        "id",
        "y_true",
        "y_pred",
        "confidence",
        "loss",
        "blurry",
        "looks_like_other",
        "incorrectly_labelled",
        "corrected_label",
        "comments",
    ]
    assert len(sheet) == min(30, n_errors) == out["n_sampled"]
    wrong_ids = set(dev.loc[~dev["correct"], "id"])
    assert set(sheet["id"]) <= wrong_ids
    assert (sheet[["blurry", "incorrectly_labelled"]] == 0).all().all()
    assert pd.read_parquet(run / "analysis" / "errors.parquet")["id"].tolist() == sheet["id"].tolist()
    page = (run / "analysis" / "errors.html").read_text()
    assert page.count("data:image/png;base64,") == len(sheet)
    # seeded: a new sheet holds the same examples; an existing sheet is never overwritten silently
    (run / "analysis" / "errors.csv").write_text("id,blurry\n")
    kept = _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"]))
    assert kept["sheet_written"] is False and (run / "analysis" / "errors.csv").read_text() == "id,blurry\n"
    again = _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report", "--new-sheet"]))
    assert again["sheet_written"] is True
    assert pd.read_csv(run / "analysis" / "errors.csv")["id"].tolist() == sheet["id"].tolist()


def test_filled_sheet_gives_ceilings_and_the_labels_reading(digits_run: Path, tmp_path: Path):
    run = _copy_run(digits_run, tmp_path, {"categories": ["blurry"], "sample": 20})
    _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"]))
    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    n = len(sheet)
    assert n == 20
    sheet["blurry"] = ["x"] * 10 + [""] * (n - 10)  # half of the errors
    sheet["incorrectly_labelled"] = ["yes"] + ["no"] * (n - 1)  # 1 in 20
    sheet["thin_stroke"] = ["1", "1"] + ["0"] * (n - 2)  # a category invented while looking
    sheet.loc[3, "comments"] = "the 3 looks like an 8"
    filled = tmp_path / "filled.csv"
    sheet.to_csv(filled, index=False)
    out = _json(
        runner.invoke(app, ["analyze-errors", str(run), "--tags", str(filled), "--json", "--no-report"])
    )
    cats = out["categories"]
    dev_error = out["error"]
    rows = {r["name"]: r for r in cats["rows"]}
    assert [r["name"] for r in cats["rows"]] == ["blurry", "thin_stroke", "incorrectly_labelled"]
    assert rows["blurry"]["share"] == pytest.approx(0.5)
    assert rows["blurry"]["ceiling"] == pytest.approx(0.5 * dev_error)
    assert rows["blurry"]["error_if_fixed"] == pytest.approx(0.5 * dev_error)
    assert rows["blurry"]["share_low"] < 0.5 < rows["blurry"]["share_high"]
    labels = cats["incorrectly_labelled"]
    assert labels["corrected_dev_error"] == pytest.approx(dev_error * (1 - 1 / 20))
    assert labels["worth_fixing"] is False and "blurry" in labels["reason"]
    assert cats["comments"] == [{"id": sheet.loc[3, "id"], "comment": "the 3 looks like an 8"}]
    # the terminal report says the same in words
    text = runner.invoke(app, ["analyze-errors", str(run), "--tags", str(filled), "--no-report"])
    assert text.exit_code == 0, text.output
    assert "Incorrectly labelled: 1 of 20 reviewed errors (5.0%)" in text.stdout
    assert "same label corrections to dev and test" in text.stdout


def test_bad_sheet_is_one_line_naming_file_row_and_column(digits_run: Path, tmp_path: Path):
    run = _copy_run(digits_run, tmp_path)
    _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report", "--sample", "5"]))
    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    sheet.loc[2, "incorrectly_labelled"] = "perhaps"
    bad = tmp_path / "bad.csv"
    sheet.to_csv(bad, index=False)
    result = runner.invoke(app, ["analyze-errors", str(run), "--tags", str(bad), "--no-report"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {bad}: row 4, column 'incorrectly_labelled': cannot read 'perhaps' as yes/no; "
        "use 1/0, x/blank, yes/no or true/false"
    )
    assert "Traceback" not in result.output


def test_bad_analysis_section_is_a_recipe_error(digits_run: Path, tmp_path: Path):
    run = _copy_run(digits_run, tmp_path, {"rules": {"phone": {"column": "source", "matches": "p"}}})
    result = runner.invoke(app, ["analyze-errors", str(run), "--no-report"])
    assert result.exit_code == 2
    assert (
        f"{run / 'recipe.yaml'}: analysis.rules.phone.matches: Extra inputs are not permitted"
        in result.stderr
    )


# ---------------------------------------------------------------- a run with metadata, made by hand


def _tabular_run(folder: Path, run_id: str | None = None, uri: str | None = None, seed: int = 0) -> Path:
    """A finished 3-class run directory with a metadata column whose 'phone' slice has 3x the errors."""
    rng = np.random.default_rng(seed)
    n = 900
    source = rng.choice(["web", "phone", "scanner"], size=n, p=[0.5, 0.2, 0.3])
    y_true = rng.integers(0, 3, n)
    wrong = rng.uniform(size=n) < np.where(source == "phone", 0.24, 0.08)
    y_pred = np.where(wrong, (y_true + rng.integers(1, 3, n)) % 3, y_true)
    proba = np.full((n, 3), 0.1)
    proba[np.arange(n), y_pred] = 0.8
    labels = np.array(["cat", "dog", "fox"])
    frame = pd.DataFrame(
        {
            "id": np.arange(n) + 5000,
            "y_true": labels[y_true],
            "y_pred": labels[y_pred],
            "correct": ~wrong,
            "confidence": proba.max(axis=1),
            "loss": -np.log(proba[np.arange(n), y_true]),
        }
    )
    for k in range(3):
        frame[f"proba_{k}"] = proba[:, k]
    frame["source"] = source
    run = folder / "tab-run"
    (run / "predictions").mkdir(parents=True)
    frame.to_parquet(run / "predictions" / "dev.parquet", index=False)
    info = {
        "run_name": "tab-run",
        "status": "FINISHED",
        "task": "multiclass",
        "kind": "tabular",
        "classes": ["cat", "dog", "fox"],
        "metadata_columns": ["source"],
        "run_id": run_id,
        "tracking_uri": uri,
    }
    (run / "run.json").write_text(json.dumps(info))
    recipe = {
        "name": "tab",
        "seed": 0,
        "analysis": {
            "categories": ["occluded"],
            "rules": {"from_phone": {"column": "source", "equals": "phone"}},
        },
    }
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return run


def test_planted_weak_slice_ranks_first_and_rules_tag_every_error(tmp_path: Path):
    run = _tabular_run(tmp_path)
    out = _json(runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"]))
    first = out["slices"][0]
    assert (first["column"], first["value"]) == ("source", "phone")
    assert first["ratio"] > 2
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    errors = dev[~dev["correct"]]
    (rule,) = out["categories"]["rows"]
    assert rule["name"] == "from_phone" and rule["source"] == "rule"
    assert rule["count"] == int((errors["source"] == "phone").sum())
    assert out["categories"]["n_reviewed"] == len(errors)
    assert out["rules"] == {"from_phone": "source equals 'phone'"}
    # the sheet carries the metadata column; no thumbnails without a readable data source
    sheet = pd.read_csv(run / "analysis" / "errors.csv")
    assert list(sheet.columns) == [
        "id",
        "y_true",
        "y_pred",
        "confidence",
        "loss",
        "source",
        "occluded",
        "incorrectly_labelled",
        "corrected_label",
        "comments",
    ]


def test_report_is_written_and_logged_to_the_runs_mlflow_run(tmp_path: Path, tracking_uri: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.create_experiment("tab")
    run_id = client.create_run(experiment).info.run_id
    client.set_terminated(run_id)
    run = _tabular_run(tmp_path, run_id, tracking_uri)
    result = runner.invoke(app, ["analyze-errors", str(run), "--label-issues"])
    assert result.exit_code == 0, result.output
    assert f"Logged to MLflow run {run_id}" in result.stdout
    assert "Suspected label errors" in result.stdout and "a person must look at each flagged" in result.stdout
    report = (run / "reports" / "errors.html").read_text()
    assert "<svg" in report and "Confusion matrix" in report and "from_phone" in report
    logged = {a.path for a in client.list_artifacts(run_id, "analysis")}
    assert logged == {
        "analysis/errors.csv",
        "analysis/errors.parquet",
        "analysis/errors.html",
        "analysis/label_issues.csv",
    }
    assert [a.path for a in client.list_artifacts(run_id, "reports")] == ["reports/errors.html"]
    assert client.get_run(run_id).data.metrics["errors_ceiling_from_phone"] > 0
    # the decision journal: the verdict is on the run, as tags and as a file
    tags = client.get_run(run_id).data.tags
    assert tags["dlkit.error_analysis"].startswith("from_phone errors (ceiling ")
    assert tags["dlkit.error_analysis.action"].startswith("work on 'from_phone' errors first")
    assert [a.path for a in client.list_artifacts(run_id, "journal")] == ["journal/error_analysis.json"]
    journal = json.loads((run / "journal" / "error_analysis.json").read_text())
    assert (
        journal["problem"] == tags["dlkit.error_analysis"]
        and journal["details"]["ceilings"]["from_phone"] > 0
    )


def _regression_run(folder: Path) -> Path:
    """A finished regression run: residuals of ±0.1, the 'phone' slice ±0.3, one web example 5.0 off."""
    n = 200
    rng = np.random.default_rng(0)
    source = np.where(np.arange(n) % 4 == 0, "phone", "web")
    y_true = rng.normal(size=n)
    residual = np.where(np.arange(n) % 2 == 0, 0.1, -0.1) * np.where(source == "phone", 3.0, 1.0)
    residual[17] = 5.0  # the largest |y_true - y_pred| by far
    y_pred = y_true - residual
    frame = pd.DataFrame({"id": np.arange(n) + 100, "y_true": y_true, "y_pred": y_pred, "loss": residual**2})
    frame["source"] = source
    run = folder / "reg-run"
    (run / "predictions").mkdir(parents=True)
    frame.to_parquet(run / "predictions" / "dev.parquet", index=False)
    info = {"run_name": "reg-run", "status": "FINISHED", "task": "regression", "metadata_columns": ["source"]}
    (run / "run.json").write_text(json.dumps(info))
    (run / "recipe.yaml").write_text(yaml.safe_dump({"name": "reg", "seed": 0}))
    return run


def test_regression_ranks_the_largest_absolute_error_first_and_slices_residuals(tmp_path: Path):
    run = _regression_run(tmp_path)
    out = _json(runner.invoke(app, ["analyze-errors", str(run), "--json"]))
    assert out["task"] == "regression" and out["n"] == 200
    largest = out["largest_errors"]
    assert largest[0]["id"] == 117 and largest[0]["residual"] == pytest.approx(5.0)
    assert largest[0]["abs_error"] == pytest.approx(5.0) and largest[0]["source"] == "web"
    assert [r["abs_error"] for r in largest] == sorted((r["abs_error"] for r in largest), reverse=True)
    # every other example is off by 0.1 (web) or 0.3 (phone): phone is the weakest slice, though
    # web holds the one large error (slices rank by the low end of their interval)
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    errors = (dev["y_true"] - dev["y_pred"]).abs()
    assert out["mae"] == pytest.approx(errors.mean()) and out["mse"] == pytest.approx((errors**2).mean())
    by_source = {s["value"]: s for s in out["slices"] if s["column"] == "source"}
    assert by_source["phone"]["mae"] == pytest.approx(0.3)
    assert by_source["web"]["mae"] == pytest.approx((0.1 * 149 + 5.0) / 150)
    assert by_source["phone"]["mean_residual"] == pytest.approx(0.3)  # ids 0, 4, 8...: all +0.3
    assert out["slices"][0]["column"] == "source" and out["slices"][0]["value"] == "phone"
    assert {s["column"] for s in out["slices"]} == {"source", "y_true"}
    assert out["sheet"] is None and not (run / "analysis").exists()
    report = (run / "reports" / "errors.html").read_text()
    assert "Residuals against predictions" in report and "<svg" in report
    assert "residual (true − predicted)" in report
    text = runner.invoke(app, ["analyze-errors", str(run), "--no-report"], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "Largest absolute errors" in text.stdout and "mean squared error" in text.stdout


def test_regression_refuses_the_sheet_and_label_issues_in_one_line(tmp_path: Path):
    run = _regression_run(tmp_path)
    for option, words in [
        (["--tags", "sheet.csv"], "--tags: task regression has no error sheet"),
        (["--label-issues"], "--label-issues: suspected label errors are for class labels"),
        (["--folds", "3"], "--folds: suspected label errors are for class labels"),
    ]:
        result = runner.invoke(app, ["analyze-errors", str(run), *option])
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr


def test_analyze_errors_loads_no_tensorflow(tmp_path: Path):
    run = _tabular_run(tmp_path)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from dlkit.cli import app\n"
        f"r = CliRunner().invoke(app, ['analyze-errors', {str(run)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print([m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn', 'scipy') if m in sys.modules])\n"
        f"r = CliRunner().invoke(app, ['analyze-errors', {str(run)!r}, '--label-issues', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    # per-class metrics and the confusion matrix are NumPy: scikit-learn takes seconds to import
    # (--label-issues needs it: cleanlab's)
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "False False"]
    assert (run / "reports" / "errors.html").is_file()
