"""``dlkit report`` on a real tracked run and a real 2-trial study (MLflow SQLite store in tmp_path),
and the pages rendered by headless Chromium with every request it makes recorded."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow  # trains a run and a 2-trial study once for the module

runner = CliRunner()

HOSTILE = '<script>alert("x")</script>'
RECIPE = f"""
name: tiny-report
seed: 0
data:
  source: {{type: sklearn, name: digits}}
  split: {{train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}}
model: {{type: mlp, units: [8]}}
train: {{epochs: 2, batch_size: 128, optimizer: {{type: adam, learning_rate: 0.01}}}}
targets: {{human_error: 0.01}}
tracking: {{experiment: '{HOSTILE}'}}
tune:
  trials: 2
  rounds: 1
  space:
    train.optimizer.learning_rate: {{log: [1.0e-3, 1.0e-1]}}
"""
RUN_SECTIONS = ["metrics", "curves", "diagnosis", "confusion", "errors", "learning-curve", "recipe"]
STUDY_SECTIONS = ["trials", "plots", "recipe"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> dict[str, Path | str]:
    """A finished tracked run (with analyze-errors and a learning curve stored) and a 2-trial study."""
    folder = tmp_path_factory.mktemp("report")
    db = folder / "mlflow.db"
    shutil.copy(migrated_store, db)
    uri = f"sqlite:///{db}"
    path = write_recipe(folder, RECIPE)
    sets = [f"tracking.uri={uri}", f"tracking.runs_dir={folder / 'runs'}"]
    run = api.train(api.load_recipe(path, sets)).run_dir
    api.analyze_errors(run)
    # the learning curve as `dlkit diagnose --learning-curve` stores it, without retraining here
    from dlkit.analysis.learning_curve import LearningCurvePoint, read_learning_curve
    from dlkit.reporting.learning_curve import JSON_NAME

    points = [LearningCurvePoint(0.5, 539, 0.30, 0.40, 270), LearningCurvePoint(1.0, 1078, 0.25, 0.33, 270)]
    curve = read_learning_curve(points, 0.01)
    (run / JSON_NAME).write_text(json.dumps(curve.to_dict()), encoding="utf-8")
    result = api.tune(path, [*sets, "train.epochs=1"], study_dir=folder / "study")
    return {"run": run, "study": Path(result.study_dir), "uri": uri, "folder": folder}


def _artifacts(uri: str, run_id: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    return [a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(run_id)]


def test_run_report_shows_the_run_and_is_logged(made: dict) -> None:
    run = made["run"]
    result = runner.invoke(app, ["report", str(run), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    info = json.loads((run / "run.json").read_text())
    page = (run / "report.html").read_text()
    assert out["path"] == str(run / "report.html") and out["sections"] == RUN_SECTIONS
    assert out["logged"] and "report.html" in _artifacts(made["uri"], info["run_id"])

    # header: id, name, dates, status, the link to the run in the MLflow UI
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri=made["uri"]).get_run(info["run_id"]).info.experiment_id
    link = f"http://127.0.0.1:5000/#/experiments/{experiment}/runs/{info['run_id']}"
    assert out["link"] == link and f'href="{link}"' in page
    for value in (info["run_id"], info["run_name"], info["started"], info["finished"], "FINISHED"):
        assert value in page
    # metrics per set are metrics.json's
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("train", "train_dev", "dev", "test"):
        shown = re.search(rf'data-metric="{split}\.accuracy">([^<]+)<', page)
        assert shown and shown.group(1) == f"{metrics[split]['accuracy']:.4f}"
    # the diagnosis is diagnose's, from the same predictions
    [diagnosis] = api.diagnose(run, reports=False)
    assert f"{diagnosis.result.sets['dev'].error:.2%}" in page
    assert "Verdict:" in page and "Error analysis" in page and "Highest loss" in page
    # every user string escaped (the experiment name and the recipe carry a script tag)
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    # nothing to fetch: no script, no external resource, and a policy that forbids them
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""\bsrc=(?!["']?data:)""", page)
    # plots shrink to a narrow viewer: no SVG keeps a fixed width
    assert page.count("<svg") >= 5 and not re.search(r"<svg[^>]*\swidth=", page)


def test_run_report_out_file_and_a_run_without_human_error(made: dict, tmp_path: Path) -> None:
    run = made["run"]
    out = tmp_path / "page.html"
    result = api.report(run, out, human_error=0.2, ui_url="http://mlflow.example:8080/", log_to_mlflow=False)
    page = out.read_text()
    assert result.path == out and not result.logged
    assert (
        "http://mlflow.example:8080/#/experiments/" in page
        and "Human-level error 20.00% (--human-error)" in page
    )

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    info = json.loads((copy / "run.json").read_text())
    info.update(human_error=None, run_id=None, tracking_uri=None, run_name=HOSTILE)
    (copy / "run.json").write_text(json.dumps(info))
    text = (copy / "recipe.yaml").read_text().replace("human_error: 0.01", "human_error: null")
    (copy / "recipe.yaml").write_text(text)
    (copy / "reports" / "diagnose.html").unlink(missing_ok=True)
    result = api.report(copy)
    page = (copy / "report.html").read_text()
    assert result.link is None and not result.logged
    assert "not diagnosed: run" in page and "no human-level error" in page
    assert "not tracked in MLflow" in page and "<script" not in page.lower()


def test_a_run_report_loads_no_tensorflow(made: dict, tmp_path: Path) -> None:
    code = (
        "import sys; from dlkit import api; "
        f"api.report({str(made['run'])!r}, {str(tmp_path / 'r.html')!r}, log_to_mlflow=False); "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]" and (tmp_path / "r.html").is_file()


def test_bad_ui_url_is_one_line() -> None:
    result = runner.invoke(app, ["report", "nowhere", "--ui-url", "javascript:alert(1)"])
    assert result.exit_code == 2
    assert "--ui-url: expected an http:// or https:// address (got 'javascript:alert(1)')" in result.output


def test_study_report_shows_trials_and_plots(made: dict) -> None:
    study = made["study"]
    result = runner.invoke(app, ["report", str(study), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    page = (study / "report.html").read_text()
    info = json.loads((study / "study.json").read_text())
    assert out["kind"] == "study" and out["sections"] == STUDY_SECTIONS
    assert out["logged"] and "report.html" in _artifacts(made["uri"], info["run_id"])
    for trial in sorted((study / "trials").iterdir()):
        record = json.loads((trial / "trial.json").read_text())
        assert f">{record['trial']}</a>" in page and f"{record['objective']:.4f}" in page
        assert f"/runs/{record['run_id']}" in page  # each trial links to its MLflow run
    assert f"best trial</dt><dd>{info['best_trial']}<" in page
    # progress over trials and the objective against the (log-scale) learning rate
    assert "over trials" in page and "vs train.optimizer.learning_rate" in page
    assert "<script" not in page.lower()


# -------------------------------------------------------------------------- Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _render(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM Chromium builds from ``page``, and every http(s)/ws request the page itself made."""
    netlog = profile / "net.json"
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            # nothing can leave the machine, whatever the browser or the page asks for
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [
        ev["params"]["url"]
        for ev in log["events"]
        if ev["type"] == start
        and "url" in ev.get("params", {})
        # the browser's own background calls carry no origin; the page's carry its (file) origin
        and ev["params"].get("initiator") != "not an origin"
        and re.match(r"(https?|wss?|ftp):", ev["params"]["url"])
    ]
    return proc.stdout, requested


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_pages_render_in_chromium_without_any_request(made: dict, tmp_path: Path) -> None:
    run_page = api.report(made["run"], tmp_path / "run.html", log_to_mlflow=False)
    study_page = api.report(made["study"], tmp_path / "study.html", log_to_mlflow=False)
    for result, headings in (
        (
            run_page,
            [
                "Metrics per set",
                "Learning curves per epoch",
                "Diagnosis",
                "Confusion matrix (dev)",
                "Error analysis",
                "Learning curve (error vs training examples)",
                "Recipe",
            ],
        ),
        (study_page, ["Trials", "Plots", "Recipe"]),
    ):
        profile = tmp_path / f"profile-{result.kind}"
        dom, requested = _render(result.path, profile)
        assert [h for h in re.findall(r"<h2>([^<]+)</h2>", dom) if h != "Notes"] == headings
        for sid in result.sections:
            assert f'<section id="{sid}">' in dom
        assert "<svg" in dom and requested == []

    # the check sees a request when a page makes one
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<!doctype html><html><body><h2>x</h2><img src="http://example.invalid/a.png"></body></html>'
    )
    _, requested = _render(leaky, tmp_path / "profile-leaky")
    assert requested == ["http://example.invalid/a.png"]
