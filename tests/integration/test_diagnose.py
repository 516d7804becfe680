"""`dlkit diagnose` end to end on run directories: known answers, errors, reports, MLflow, no TF."""

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

from dlkit import api
from dlkit.cli import app
from dlkit.errors import RecipeError, TrackingError

runner = CliRunner()


def make_run(
    root: Path,
    name: str,
    errors: dict[str, tuple[int, int]],
    *,
    human_error: float | None = 0.0,
    status: str = "FINISHED",
    task: str = "multiclass",
    satisfice: dict[str, str] | None = None,
    **info: object,
) -> Path:
    """A run directory whose stored predictions have ``errors[set] = (n, n_wrong)``.

    For regression, ``n_wrong`` is read as a mean squared error in thousandths (per-example
    losses alternate around it).
    """
    path = root / "runs" / name
    (path / "predictions").mkdir(parents=True)
    for split, (n, n_wrong) in errors.items():
        if task == "regression":
            loss = np.full(n, n_wrong / 1000) * np.where(np.arange(n) % 2 == 0, 0.5, 1.5)
            frame = pd.DataFrame({"id": np.arange(n), "loss": loss})
        else:
            correct = np.ones(n, dtype=bool)
            correct[np.random.default_rng(len(split)).choice(n, n_wrong, replace=False)] = False
            frame = pd.DataFrame(
                {"id": np.arange(n), "correct": correct, "loss": np.where(correct, 0.1, 2.0)}
            )
        frame.to_parquet(path / "predictions" / f"{split}.parquet", index=False)
    recipe = {
        "name": name,
        "targets": {"human_error": human_error},
        "metrics": {"satisfice": satisfice or {}},
    }
    (path / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    run_info = {
        "run_name": name,
        "status": status,
        "task": task,
        "optimize": "mse" if task == "regression" else "accuracy",
        "human_error": human_error,
        "run_id": None,
        "tracking_uri": None,
        **info,
    }
    (path / "run.json").write_text(json.dumps(run_info), encoding="utf-8")
    return path


def _json(args: list[str]) -> list[dict]:
    result = runner.invoke(app, ["diagnose", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"]


N = 20_000  # per set: intervals of about ±0.6%, tight enough for every worked example

# docs/method.md §2 worked examples, errors in %: human, train, train-dev (None: no set), dev
WORKED = [
    (1, 8, None, 10, "avoidable_bias", ["avoidable_bias"]),
    (7.5, 8, None, 10, "variance", ["variance"]),
    (0, 1, 9, 10, "variance", ["variance"]),
    (0, 1, 1.5, 10, "data_mismatch", ["data_mismatch"]),
    (0, 10, 11, 12, "avoidable_bias", ["avoidable_bias"]),
    (0, 10, 11, 20, "avoidable_bias", ["avoidable_bias", "data_mismatch"]),
]


@pytest.mark.parametrize(("human", "train", "train_dev", "dev", "verdict", "problems"), WORKED)
def test_worked_examples_through_cli_json(workdir, human, train, train_dev, dev, verdict, problems):
    errors = {"train": (N, round(train * N / 100)), "dev": (N, round(dev * N / 100))}
    if train_dev is not None:
        errors["train_dev"] = (N, round(train_dev * N / 100))
    make_run(workdir, "r", errors, human_error=human / 100)
    (out,) = _json(["r", "--no-report"])
    assert out["verdict"] == verdict
    assert out["problems"] == problems
    assert out["gaps"]["avoidable_bias"]["value"] == pytest.approx((train - human) / 100)
    if train_dev is None:
        assert out["variance_includes_mismatch"] is True
        assert out["gaps"]["variance"]["value"] == pytest.approx((dev - train) / 100)
        assert "data_mismatch" not in out["gaps"]
    else:
        assert out["gaps"]["variance"]["value"] == pytest.approx((train_dev - train) / 100)
        assert out["gaps"]["data_mismatch"]["value"] == pytest.approx((dev - train_dev) / 100)
    assert list(out["actions"]) == problems


def test_worked_example_through_the_python_api(workdir):
    make_run(workdir, "r", {"train": (N, 1600), "dev": (N, 2000)}, human_error=0.075)
    (d,) = api.diagnose("r", reports=False)
    assert d.result.verdict == "variance"
    assert d.result.gap("avoidable_bias").value == pytest.approx(0.005)
    assert d.human_error_source == "recipe targets.human_error"


def test_human_error_option_overrides_the_recipe(workdir):
    make_run(workdir, "r", {"train": (N, 1600), "dev": (N, 2000)}, human_error=0.075)
    (out,) = _json(["r", "--human-error", "0.01", "--no-report"])
    assert out["human_error"] == 0.01 and out["human_error_source"] == "--human-error"
    assert out["verdict"] == "avoidable_bias"


def test_real_run_errors_match_its_stored_metrics_and_reports_are_written(digits_run, workdir):
    run = workdir / "run"
    shutil.copytree(digits_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    (d,) = api.diagnose(run)
    for split in ("train_dev", "dev", "test"):
        assert d.result.sets[split].error == pytest.approx(metrics[split]["error"])
        assert d.result.sets[split].n == metrics[split]["n"]
    # 1,078 train examples > 2 x 272 dev: measured on a fixed subsample of dev's size
    assert d.result.sets["train"].n == metrics["dev"]["n"]
    assert d.result.sets["train"].n_total == metrics["train"]["n"]
    assert d.result.human_error == 0.01
    md = (run / "reports" / "diagnose.md").read_text()
    html = (run / "reports" / "diagnose.html").read_text()
    bias = d.result.gap("avoidable_bias")
    assert f"| avoidable bias | train − human | {bias.value:.2%} |" in md
    assert "<svg" in html and "Diagnosis of" in html


def test_no_train_dev_and_no_test(workdir):
    make_run(workdir, "r", {"train": (N, 200), "dev": (N, 210)})
    (out,) = _json(["r", "--no-report"])
    assert out["variance_includes_mismatch"] is True
    assert set(out["gaps"]) == {"avoidable_bias", "variance"}
    assert any("cannot be told apart" in n for n in out["notes"])


def test_regression_uses_mean_loss_in_metric_units(workdir):
    make_run(
        workdir,
        "r",
        {"train": (N, 500), "train_dev": (N, 520), "dev": (N, 2000)},
        task="regression",
        human_error=0.4,
    )
    (out,) = _json(["r", "--no-report"])
    assert out["kind"] == "mean"
    assert out["sets"]["dev"]["error"] == pytest.approx(2.0)
    assert out["verdict"] == "data_mismatch"


def test_several_runs_side_by_side(workdir):
    make_run(workdir, "bias", {"train": (N, 1600), "dev": (N, 2000)}, human_error=0.01)
    make_run(workdir, "var", {"train": (N, 1600), "dev": (N, 2000)}, human_error=0.075)
    result = runner.invoke(app, ["diagnose", "bias", "var", "--no-report"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "side by side" in result.output
    assert "bias: Work on avoidable bias (7.00%)." in result.output
    assert "var: Work on variance (2.00%)." in result.output
    assert [o["verdict"] for o in _json(["bias", "var", "--no-report"])] == ["avoidable_bias", "variance"]


def test_terminal_report_of_one_run(workdir):
    make_run(workdir, "r", {"train": (N, 200), "train_dev": (N, 300), "dev": (N, 2000)})
    result = runner.invoke(app, ["diagnose", "r"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Verdict: Work on data mismatch (8.50%)." in result.output
    assert "Next steps for data mismatch:" in result.output
    assert "collect training data like dev" in result.output
    assert "reports/diagnose.md" in result.output


def test_run_not_finished_is_refused_in_one_line(workdir):
    make_run(workdir, "r", {"train": (100, 1), "dev": (100, 1)}, status="RUNNING")
    result = runner.invoke(app, ["diagnose", "r"])
    assert result.exit_code == 1
    assert "error: run 'r' is RUNNING, not FINISHED: diagnose needs a finished run" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(TrackingError):
        api.diagnose("r")


def test_no_human_error_anywhere_is_a_usage_error(workdir):
    make_run(workdir, "r", {"train": (100, 1), "dev": (100, 1)}, human_error=None)
    result = runner.invoke(app, ["diagnose", "r"])
    assert result.exit_code == 2
    assert "error: run 'r': no human-level error to compare with" in result.output
    assert "hint: pass --human-error" in result.output
    with pytest.raises(RecipeError):
        api.diagnose("r")


def test_bad_human_error_is_a_usage_error(workdir):
    make_run(workdir, "r", {"train": (100, 1), "dev": (100, 1)})
    result = runner.invoke(app, ["diagnose", "r", "--human-error", "5"])
    assert result.exit_code == 2
    assert "human-level error: expected an error rate in [0, 1] (0.01 = 1%) (got 5, from --human-error)" in (
        result.output
    )


def test_unknown_run_is_a_usage_error(workdir, tracking_uri):
    result = runner.invoke(app, ["diagnose", "nope"])
    assert result.exit_code == 2
    assert "error: run 'nope': no run directory, run name or MLflow run id matches" in result.output


def test_missing_predictions_is_a_data_error(workdir):
    path = make_run(workdir, "r", {"train": (100, 1), "dev": (100, 1)})
    (path / "predictions" / "dev.parquet").unlink()
    result = runner.invoke(app, ["diagnose", "r"])
    assert result.exit_code == 1
    assert "error: run 'r': no stored predictions for dev" in result.output


def test_satisficing_params_and_model_size(workdir):
    path = make_run(
        workdir,
        "r",
        {"train": (100, 1), "dev": (100, 1)},
        satisfice={"params": "<= 1000", "model_size_mb": "<= 1", "mystery": "< 3"},
        n_params=2000,
    )
    (path / "model").mkdir()
    (path / "model" / "model.keras").write_bytes(b"0" * 500_000)
    (out,) = _json(["r", "--no-report"])
    checks = {c["name"]: c for c in out["satisficing"]}
    assert (checks["params"]["value"], checks["params"]["met"]) == (2000, False)
    assert (checks["model_size_mb"]["value"], checks["model_size_mb"]["met"]) == (0.5, True)
    assert checks["mystery"]["met"] is None and checks["mystery"]["note"].startswith("not measured")


def test_satisficing_latency_is_measured_on_the_real_model(digits_run, workdir):
    run = workdir / "run"
    shutil.copytree(digits_run, run)
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    recipe["metrics"]["satisfice"] = {"latency_ms": "<= 10000", "params": "<= 100"}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    (d,) = api.diagnose(run, reports=False)
    latency, params = d.satisficing
    assert latency.name == "latency_ms" and latency.met is True and 0 < latency.value < 10000
    assert params.met is False and params.value == json.loads((run / "run.json").read_text())["n_params"]


def test_reports_are_logged_to_the_runs_mlflow_run(workdir, tracking_uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    make_run(
        workdir,
        "r",
        {"train": (N, 1600), "dev": (N, 2000)},
        human_error=0.01,
        run_id=run_id,
        tracking_uri=tracking_uri,
    )
    (d,) = api.diagnose("r")
    assert d.logging_error is None
    logged = {Path(a.path).name for a in client.list_artifacts(run_id, "reports")}
    assert logged == {"diagnose.md", "diagnose.html"}
    assert client.get_run(run_id).data.metrics["diagnose_avoidable_bias"] == pytest.approx(0.07)


def test_diagnose_from_stored_predictions_imports_no_tensorflow(workdir):
    path = make_run(workdir, "r", {"train": (1000, 80), "train_dev": (500, 45), "dev": (500, 50)})
    code = (
        "import sys\n"
        "from dlkit.cli import app\n"
        f"app(['diagnose', {str(path)!r}, '--human-error', '0.01'], standalone_mode=False)\n"
        "heavy = ('tensorflow', 'keras', 'mlflow', 'sklearn', 'scipy')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=workdir, check=True, timeout=300
    )
    assert "LOADED []" in done.stdout
    assert "Verdict: Work on avoidable bias" in done.stdout
    assert (path / "reports" / "diagnose.html").is_file()


def test_train_subsample_is_stated_in_the_notes(workdir):
    make_run(workdir, "r", {"train": (5000, 500), "dev": (1000, 100)})
    (out,) = _json(["r", "--no-report"])
    assert out["sets"]["train"]["n"] == 1000 and out["sets"]["train"]["n_total"] == 5000
    assert "Train error is measured on a fixed subsample of 1,000 of its 5,000 examples" in " ".join(
        out["notes"]
    )
