"""Ctrl-C during training: exit 130, the run marked KILLED (never FINISHED), checkpoints kept."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_DIGITS, running, write_recipe

pytestmark = pytest.mark.slow


def test_interrupted_run_is_killed_not_finished(tracking_uri: str, workdir: Path) -> None:
    recipe = write_recipe(workdir, TINY_DIGITS)
    with running(
        [sys.executable, "-u", "-m", "dlkit", "train", str(recipe), "--set", "train.epochs=500"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            if line.startswith("epoch 2/500") or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # while TensorFlow loads: one line on stderr (not a terminal here), none of TensorFlow's notes
    assert err.splitlines()[0] == "Loading TensorFlow..."

    (run_dir,) = (workdir / "runs").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "KILLED"
    # the run and the exact command that continues it
    assert f"interrupted: run runs/{run_dir.name} stopped, marked KILLED" in err
    assert f"continue it with: dlkit train --resume runs/{run_dir.name}" in err
    assert (run_dir / "checkpoints" / "last.keras").is_file()
    from mlflow.tracking import MlflowClient

    assert MlflowClient(tracking_uri=tracking_uri).get_run(info["run_id"]).info.status == "KILLED"
