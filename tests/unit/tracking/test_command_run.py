"""A command's own MLflow run (style transfer, word vectors) never stays RUNNING: FINISHED when
the block ends, FAILED on an error, KILLED on Ctrl-C. Real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from dlkit.tracking.mlflow_tracker import command_run


def _status(uri: str, run_id: str | None) -> str:
    assert run_id is not None
    return MlflowClient(uri).get_run(run_id).info.status


def test_the_run_ends_as_the_block_does(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ids = []
    with command_run(True, uri, "tools", "ok", "embed train") as (store, run_id):
        assert store is not None
        store.log_metrics(run_id, {"loss": 1.5}, step=1)
        ids.append(run_id)
    with pytest.raises(ValueError), command_run(True, uri, "tools", "bad", "embed train") as (_, run_id):
        ids.append(run_id)
        raise ValueError("boom")
    with (
        pytest.raises(KeyboardInterrupt),
        command_run(True, uri, "tools", "cut", "embed train") as (_, run_id),
    ):
        ids.append(run_id)
        raise KeyboardInterrupt
    assert [_status(uri, r) for r in ids] == ["FINISHED", "FAILED", "KILLED"]
    run = MlflowClient(uri).get_run(ids[0])
    assert run.data.tags["dlkit.command"] == "embed train" and run.data.metrics == {"loss": 1.5}


def test_untracked_writes_no_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with command_run(False, uri, "tools", "none", "style-transfer") as (store, run_id):
        assert store is None and run_id is None
    assert not (tmp_path / "mlflow.db").exists()
