"""`dlkit ui` serves the same store: a trained run is visible through MLflow's REST API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dlkit import api
from tests.conftest import TINY_DIGITS, running, write_recipe

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def _command_lines() -> list[str]:
    """Every process's command line on this machine (Linux /proc)."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone meanwhile
            continue
    return lines


def test_ui_shows_the_run(tracking_uri: str, workdir: Path) -> None:
    result = api.train(api.load_recipe(write_recipe(workdir, TINY_DIGITS), ["train.epochs=1"]))
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    with running(
        [sys.executable, "-m", "dlkit", "ui", "--tracking-uri", tracking_uri, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stop_timeout=30,
    ) as server:
        deadline = time.monotonic() + 90
        while True:
            try:
                found = _post(f"{base}/runs/search", {"experiment_ids": ["1"]})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        jobs = [c for c in _command_lines() if "huey_consumer" in c]
    assert jobs == []  # MLflow's job runner stays off: viewing runs queues no job
    (run,) = found["runs"]
    assert run["info"]["run_id"] == result.run_id
    assert run["info"]["status"] == "FINISHED"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["dev_error"] == pytest.approx(result.metrics["dev"]["error"])
