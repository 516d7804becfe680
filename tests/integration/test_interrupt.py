"""Ctrl-C during training: exit 130, the run marked KILLED (never FINISHED), checkpoints kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dlkit.training.checkpoints import TEST_PAUSE_ENV
from tests.conftest import TINY_DIGITS, running, write_recipe

pytestmark = pytest.mark.slow


def test_interrupted_run_is_killed_not_finished(tracking_uri: str, workdir: Path) -> None:
    recipe = write_recipe(workdir, TINY_DIGITS)
    # the run waits at the start of epoch 2 (epoch 1 checkpointed) until the signal comes: Ctrl-C
    # lands mid-training whatever the machine's speed and however progress is shown. Three
    # epochs: an interrupt that was lost would let the run finish, and fail the test quickly.
    env = {**os.environ, TEST_PAUSE_ENV: "batch@2"}
    with running(
        [sys.executable, "-u", "-m", "dlkit", "train", str(recipe), "--set", "train.epochs=3"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        before = []  # stderr up to the pause
        for line in proc.stderr:
            before.append(line)
            if "test hook: paused at batch@2" in line:
                break
        assert before and "paused at batch@2" in before[-1], "".join(before)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=120)
    err = "".join(before) + rest
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
