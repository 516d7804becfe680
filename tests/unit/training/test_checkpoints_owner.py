"""Whose checkpoints: a RUNNING run names its process and renews a heartbeat, so a run whose
process died (SIGKILL, a power cut) is told from one still training."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dlkit.rundir import Heartbeat, RunDir, owner, run_state


def _run(workdir: Path, **info: object) -> RunDir:
    run = RunDir(workdir / "run")
    run.update_info(status="RUNNING", **owner())
    run.update_info(**info)
    return run


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_of_a_live_process_is_running(workdir: Path) -> None:
    assert run_state(_run(workdir)) == "RUNNING"


def test_a_run_whose_process_is_gone_is_dead(workdir: Path) -> None:
    assert run_state(_run(workdir, pid=_dead_pid())) == "DEAD"


def test_a_stale_heartbeat_is_a_dead_run_on_any_host(workdir: Path) -> None:
    assert run_state(_run(workdir, heartbeat=_ago(301))) == "DEAD"
    assert run_state(_run(workdir, heartbeat=_ago(20), host="elsewhere", pid=_dead_pid())) == "RUNNING"
    assert run_state(_run(workdir, heartbeat=_ago(400), host="elsewhere")) == "DEAD"


def test_an_ended_run_keeps_its_status_and_an_ownerless_running_run_is_dead(workdir: Path) -> None:
    assert run_state(_run(workdir, status="KILLED")) == "KILLED"
    run = RunDir(workdir / "old")
    run.update_info(status="RUNNING")  # written before runs named their process
    assert run_state(run) == "DEAD"


def test_owner_names_this_process(workdir: Path) -> None:
    info = owner()
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()


def test_the_heartbeat_is_renewed_while_the_run_goes_on(workdir: Path) -> None:
    run = _run(workdir, heartbeat="2000-01-01T00:00:00+00:00")
    with Heartbeat(run, interval=0.05):
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while run.info()["heartbeat"].startswith("2000") and datetime.now(UTC) < deadline:
            run.update_info(status="RUNNING")  # the run writes run.json too: nothing is lost
    info = run.info()
    assert not info["heartbeat"].startswith("2000") and info["status"] == "RUNNING"
