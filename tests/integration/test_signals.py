"""SIGINT and SIGTERM at every stage of a run, and SIGKILL: the run is marked KILLED (or seen to be
dead), keeps its checkpoints, and ``--resume`` ends it exactly as an uninterrupted run ends.

The moments are hit with the test hook :func:`dlkit.training.checkpoints.pause_for_test`: in this
process it is replaced by one that raises the signal (through the CLI's own handlers); a
subprocess is told where to pause with ``DLKIT_TEST_PAUSE`` and signalled from outside.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from dlkit.rundir import RunDir, run_state
from dlkit.training import checkpoints as ckpt
from tests.conftest import REPO, running, write_recipe

pytestmark = pytest.mark.slow
runner = CliRunner()

# dropout (RNG), momentum (optimizer state), a plateau schedule that halves the rate every epoch
# after the first, and early stopping whose best epoch stays the first (min_delta too large to
# improve): the model a run ends with is epoch 1's, put back when fitting ends
RECIPE = """
name: signals-digits
seed: 3
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.5, dev: 0.25, test: 0.25}
model: {type: mlp, units: [16], dropout: 0.3}
train:
  epochs: 3
  batch_size: 128
  optimizer: {type: sgd, learning_rate: 0.05, momentum: 0.9}
  schedule: {type: reduce_on_plateau, patience: 1, factor: 0.5, min_delta: 10.0}
  early_stopping: {patience: 10, min_delta: 10.0}
  deterministic: true
  checkpoint_every_s: 0   # every epoch: the tests stop it while epoch 2's is written
"""
STOPS_EARLY = ["train.early_stopping.patience=1"]  # stops after epoch 2 of 3
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
REASON = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _outcome(run_dir: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """What must match: every epoch's row, the final metrics, and how training ended."""
    info = json.loads((run_dir / "run.json").read_text())
    ended = {k: info[k] for k in ("status", "epochs_run", "stopped_early")}
    return pd.read_csv(run_dir / "history.csv"), RunDir(run_dir).metrics(), ended


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The recipe (and its early-stopping variant) run without interruption, untracked."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    recipe_path = write_recipe(folder, RECIPE)
    out = {}
    for name, extra in (("full", []), ("stops_early", STOPS_EARLY)):
        recipe = api.load_recipe(recipe_path, [f"tracking.runs_dir={folder / name}", *extra])
        out[name] = _outcome(api.train(recipe, track=False).run_dir)
    assert out["full"][2]["epochs_run"] == 3 and out["stops_early"][2]["epochs_run"] == 2
    return out


def _assert_same(run_dir: Path, expected: tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]) -> None:
    history, metrics, ended = _outcome(run_dir)
    pd.testing.assert_frame_equal(history, expected[0], check_exact=True)
    assert metrics == expected[1]
    assert ended == expected[2]


@pytest.fixture
def signals_as_from_outside(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in this process, as in a terminal, whatever the runner set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _signal_at(monkeypatch: pytest.MonkeyPatch, point: str, signum: int) -> Iterator[None]:
    """Inside the block, the run raises ``signum`` on itself when it reaches ``point``."""

    def pause(name: str, epoch: int | None = None) -> None:
        if (name if epoch is None else f"{name}@{epoch}") == point:
            signal.raise_signal(signum)

    with monkeypatch.context() as patch:
        patch.setattr(ckpt, "pause_for_test", pause)
        yield


def _check_killed(run_dir: Path, tracking_uri: str, reason: str, epochs_done: int) -> str:
    from mlflow.tracking import MlflowClient

    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["reason"]) == ("KILLED", reason)
    assert json.loads((run_dir / "checkpoints" / "state.json").read_text())["epoch"] == epochs_done
    assert not (run_dir / "metrics.json").exists()
    assert MlflowClient(tracking_uri=tracking_uri).get_run(info["run_id"]).info.status == "KILLED"
    return str(info["run_id"])


def _check_resumed(run_dir: Path, tracking_uri: str, run_id: str, epochs_done: int) -> None:
    from mlflow.tracking import MlflowClient

    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert f"resumed after epoch {epochs_done}" in result.output
    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert "test_error" in run.data.metrics
    epochs = json.loads((run_dir / "run.json").read_text())["epochs_run"]
    # every epoch logged once, by the first process or the resumed one
    assert [m.step for m in client.get_metric_history(run_id, "val_loss")] == list(range(epochs))


# (where, epochs done when the signal is handled): during epoch 2, while epoch 2's checkpoint is
# written (the signal waits for it), after the last epoch before anything is evaluated
POINTS = [("batch@2", 1), ("checkpoint@2", 2), ("fit", 3)]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@pytest.mark.usefixtures("signals_as_from_outside")
@pytest.mark.parametrize(
    "signals", [("SIGINT", "SIGTERM", "SIGINT"), ("SIGTERM", "SIGINT", "SIGTERM")], ids="-".join
)
def test_signals_at_every_stage_then_resume_end_as_an_uninterrupted_run(
    tracking_uri: str,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    uninterrupted: dict[str, Any],
    signals: tuple[str, str, str],
) -> None:
    """One run stopped three times, at each point in turn (by the run and by its resumed runs),
    with each signal at every point over the two parametrisations."""
    command = ["train", str(write_recipe(workdir, RECIPE))]
    for (point, epochs_done), name in zip(POINTS, signals, strict=True):
        signum = SIGNALS[name]
        with _signal_at(monkeypatch, point, signum):
            stopped = runner.invoke(app, command)
        assert stopped.exit_code == EXIT[signum], (point, stopped.output)
        assert "Traceback" not in stopped.output
        (run_dir,) = (workdir / "runs").iterdir()
        run_id = _check_killed(run_dir, tracking_uri, REASON[signum], epochs_done)
        command = ["train", "--resume", str(run_dir)]
    _check_resumed(run_dir, tracking_uri, run_id, 3)
    _assert_same(run_dir, uninterrupted["full"])
    assert [r["from_epoch"] for r in json.loads((run_dir / "run.json").read_text())["resumes"]] == [1, 2, 3]


@pytest.mark.usefixtures("signals_as_from_outside")
def test_a_run_stopped_early_and_terminated_before_evaluation_is_finished_not_trained(
    tracking_uri: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[str, Any]
) -> None:
    recipe = write_recipe(workdir, RECIPE)
    with _signal_at(monkeypatch, "fit", signal.SIGTERM):
        stopped = runner.invoke(app, ["train", str(recipe), *(f"--set={s}" for s in STOPS_EARLY)])
    assert stopped.exit_code == 143, stopped.output
    (run_dir,) = (workdir / "runs").iterdir()
    run_id = _check_killed(run_dir, tracking_uri, "terminated", 2)

    further = runner.invoke(app, ["train", "--resume", str(run_dir), "--set", "train.epochs=5"])
    assert further.exit_code == 2
    assert "stopped early at epoch 2: it can be finished, not trained further" in further.output
    _check_resumed(run_dir, tracking_uri, run_id, 2)
    _assert_same(run_dir, uninterrupted["stops_early"])


@pytest.mark.usefixtures("signals_as_from_outside")
def test_epochs_kept_in_memory_are_written_when_interrupted_and_every_one_is_in_mlflow(
    tracking_uri: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[str, Any]
) -> None:
    """Checkpoints every 30 s: epochs 1 and 2 are only in memory when Ctrl-C comes in epoch 3;
    the interrupted run writes epoch 2's, MLflow has every epoch the run directory has (its
    metrics are logged from a thread), and the resumed run ends as an uninterrupted one."""
    from mlflow.tracking import MlflowClient

    written: list[int] = []
    write = ckpt.write_checkpoint
    monkeypatch.setattr(
        ckpt,
        "write_checkpoint",
        lambda f, m, state, **kw: (written.append(state.epoch), write(f, m, state, **kw)),
    )
    command = ["train", str(write_recipe(workdir, RECIPE)), "--set", "train.checkpoint_every_s=30"]
    with _signal_at(monkeypatch, "batch@3", signal.SIGINT):
        stopped = runner.invoke(app, command)
    assert stopped.exit_code == 130, stopped.output
    assert written == [2]  # at the interrupt, not at the end of each epoch
    (run_dir,) = (workdir / "runs").iterdir()
    run_id = _check_killed(run_dir, tracking_uri, "interrupted", 2)
    history = json.loads((run_dir / "checkpoints" / "state.json").read_text())["history"]
    client = MlflowClient(tracking_uri=tracking_uri)
    for key in history[0]:
        logged = [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
        assert sorted(logged) == [(step, row[key]) for step, row in enumerate(history)], key
    _check_resumed(run_dir, tracking_uri, run_id, 2)
    _assert_same(run_dir, uninterrupted["full"])


def _start(workdir: Path, pause: str, **kwargs: Any) -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO), ckpt.TEST_PAUSE_ENV: pause}
    cmd = [sys.executable, "-u", "-m", "dlkit", "train", str(write_recipe(workdir, RECIPE))]
    return running(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_pause(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if "test hook: paused at" in line:
            return
    raise AssertionError(f"the run ended (exit {proc.wait()}) before it paused")


def test_sigterm_from_outside_after_the_last_epoch(
    tracking_uri: str, workdir: Path, uninterrupted: dict[str, Any]
) -> None:
    with _start(workdir, "fit") as proc:
        _wait_for_pause(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    (run_dir,) = (workdir / "runs").iterdir()
    run_id = _check_killed(run_dir, tracking_uri, "terminated", 3)
    assert run_state(RunDir(run_dir)) == "KILLED"
    _check_resumed(run_dir, tracking_uri, run_id, 3)
    _assert_same(run_dir, uninterrupted["full"])


def test_a_run_killed_while_writing_a_checkpoint_is_dead_and_resumable(
    tracking_uri: str, workdir: Path, uninterrupted: dict[str, Any]
) -> None:
    with _start(workdir, "checkpoint@2") as proc:
        _wait_for_pause(proc)
        (run_dir,) = (workdir / "runs").iterdir()
        assert run_state(RunDir(run_dir)) == "RUNNING"
        alive = runner.invoke(app, ["train", "--resume", str(run_dir)])
        assert alive.exit_code == 2
        assert f"is still training (pid {proc.pid} on " in alive.output
        proc.kill()  # SIGKILL: nothing is recorded, epoch 2's checkpoint half written
        proc.wait()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "RUNNING" and run_state(RunDir(run_dir)) == "DEAD"
    assert (run_dir / "checkpoints" / ".last.next.keras").is_file()
    _check_resumed(run_dir, tracking_uri, info["run_id"], 1)
    _assert_same(run_dir, uninterrupted["full"])


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        found[int(stat.parent.name)] = (int(fields[1]), fields[0])
    return found


def _descendants(pid: int) -> set[int]:
    table, found, todo = _processes(), set(), [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, (pp, _) in table.items() if pp == parent]
        found.update(children)
        todo.extend(children)
    return found


@contextlib.contextmanager
def _killed_at_exit(pids: set[int]) -> Iterator[None]:
    """The server runs in its own process group, which the test's ``running`` does not end: these
    pids are killed whatever happens (a failing test leaves no server behind)."""
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process table from /proc")
def test_ui_stopped_with_sigterm_leaves_no_server(tracking_uri: str, workdir: Path) -> None:
    from tests.integration.test_ui import _free_port

    port = _free_port()
    cmd = [sys.executable, "-m", "dlkit", "ui", "--tracking-uri", tracking_uri, "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server: set[int] = set()
    with (
        running(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stop_timeout=30) as ui,
        _killed_at_exit(server),
    ):
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and ui.poll() is None, "the server did not start"
                time.sleep(0.5)
        server.update(_descendants(ui.pid))
        assert server  # the MLflow server and its workers
        ui.send_signal(signal.SIGTERM)  # to dlkit alone, as a scheduler does
        assert ui.wait(timeout=60) == 143
        deadline = time.monotonic() + 10
        while (left := {p for p, (_, s) in _processes().items() if p in server and s != "Z"}) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
    assert not left, f"left running: {left}"
