"""`dlkit doctor`: one line per check (ok / warning / fail) with a fix, exit 1 when one fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()
QUICK_CHECKS = ["Python", "dlkit", "TensorFlow", "Keras", "keras-tuner", "MLflow", "GPU"]
QUICK_CHECKS += ["MLflow store", "runs folder"]


def _checks(output: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(output)["checks"]}


def test_doctor_reports_each_check_on_a_good_setup(workdir: Path, tracking_uri: str) -> None:
    result = runner.invoke(app, ["doctor", "--no-smoke"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in QUICK_CHECKS:
        assert any(line.split(maxsplit=1)[1].startswith(f"{name}:") for line in lines), name
    store = next(line for line in lines if "MLflow store:" in line)
    assert store.startswith("ok") and f"{tracking_uri} reachable" in store
    assert not any("smoke run" in line for line in lines)
    assert not (workdir / "runs").exists()  # probed, never made


def test_doctor_fails_on_an_unreachable_store_and_an_unwritable_runs_folder(workdir: Path) -> None:
    (workdir / "afile").write_text("")
    unreachable = ["--tracking-uri", "http://127.0.0.1:9"]
    result = runner.invoke(app, ["doctor", "--no-smoke", "--json", *unreachable, "--runs-dir", "afile/runs"])
    assert result.exit_code == 1
    checks = _checks(result.output)
    assert checks["MLflow store"]["status"] == "fail"
    assert "127.0.0.1:9" in checks["MLflow store"]["detail"] and checks["MLflow store"]["fix"]
    assert checks["runs folder"] == {
        "name": "runs folder",
        "status": "fail",
        "detail": "afile/runs: afile is not a folder",
        "fix": "pass --runs-dir <a writable folder>",
    }
    assert checks["Python"]["status"] == "ok"


def test_doctor_fails_on_a_read_only_sqlite_store(workdir: Path, tracking_uri: str) -> None:
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    db.chmod(0o444)
    try:
        result = runner.invoke(app, ["doctor", "--no-smoke", "--json"])
    finally:
        db.chmod(0o644)
    checks = _checks(result.output)
    if checks["MLflow store"]["status"] == "ok":  # root can write a read-only file
        pytest.skip("running as root: a read-only file stays writable")
    assert result.exit_code == 1
    assert checks["MLflow store"]["detail"].endswith("the file is read-only")


@pytest.mark.slow
def test_doctor_smoke_run_trains_one_epoch_without_writing_anything(workdir: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    smoke = _checks(result.output)["smoke run"]
    assert smoke["status"] == "ok" and smoke["detail"].startswith("1 epoch on generated data in ")
    assert list(workdir.iterdir()) == []  # no store, no runs folder, no data left behind
