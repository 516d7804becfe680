"""Where runs are recorded, and how a RUN argument is found again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dlkit import api
from dlkit.errors import RunNotFoundError
from dlkit.tracking import resolve_tracking_uri
from tests.conftest import TINY_DIGITS, write_recipe


def test_default_store_is_sqlite_in_working_directory(workdir: Path) -> None:
    assert resolve_tracking_uri(None) == f"sqlite:///{workdir / 'mlflow.db'}"


def test_environment_then_recipe_take_precedence(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    assert resolve_tracking_uri(None) == f"sqlite:///{workdir / 'env.db'}"
    assert resolve_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert resolve_tracking_uri("sqlite:////abs/x.db") == "sqlite:////abs/x.db"


@pytest.mark.slow
def test_resolve_run_by_dir_name_id_and_from_mlflow_only(tracking_uri: str, workdir: Path) -> None:
    recipe = api.load_recipe(write_recipe(workdir, TINY_DIGITS), ["train.epochs=1"])
    result = api.train(recipe)
    by_dir = api.resolve_run(result.run_dir)
    assert by_dir.path == result.run_dir
    assert api.resolve_run(result.run_name).path == Path("runs") / result.run_name
    assert result.run_id is not None
    assert api.resolve_run(result.run_id).path.resolve() == result.run_dir.resolve()

    # the local run directory is gone (another machine): artifacts come back from MLflow
    shutil.rmtree(result.run_dir)
    fetched = api.resolve_run(result.run_id)
    assert fetched.path == Path("runs") / ".mlflow" / result.run_id
    assert fetched.info()["status"] == "FINISHED"
    assert len(fetched.predictions("dev")) == result.metrics["dev"]["n"]

    with pytest.raises(RunNotFoundError) as info:
        api.resolve_run("no-such-run")
    assert info.value.message == "run 'no-such-run': no run directory, run name or MLflow run id matches"
    assert info.value.exit_code == 2
