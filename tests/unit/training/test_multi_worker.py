"""multi_worker's roles and limits: who writes the run, how long workers wait for each other."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from dlkit.errors import RecipeError
from dlkit.training.runtime import WORKER_TIMEOUT_ENV, is_chief, worker_name, worker_timeout_s
from tests.conftest import REPO

TWO = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
WITH_CHIEF = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"]}


@pytest.mark.parametrize(
    ("cluster", "task", "chief", "name"),
    [
        (TWO, {"type": "worker", "index": 0}, True, "worker 0 of 2"),
        (TWO, {"type": "worker", "index": 1}, False, "worker 1 of 2"),
        (WITH_CHIEF, {"type": "chief", "index": 0}, True, "chief 0 of 3"),
        (WITH_CHIEF, {"type": "worker", "index": 0}, False, "worker 0 of 3"),
    ],
)
def test_only_the_chief_writes_the_run(
    monkeypatch: pytest.MonkeyPatch, cluster: dict, task: dict, chief: bool, name: str
) -> None:
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert is_chief("multi_worker") is chief
    assert worker_name() == name
    assert is_chief("default") and is_chief("mirrored")  # one process: always its own chief


def test_worker_timeout_is_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_TIMEOUT_ENV, raising=False)
    assert worker_timeout_s() == 300.0
    monkeypatch.setenv(WORKER_TIMEOUT_ENV, "12.5")
    assert worker_timeout_s() == 12.5
    monkeypatch.setenv(WORKER_TIMEOUT_ENV, "soon")
    with pytest.raises(RecipeError) as info:
        worker_timeout_s()
    assert info.value.message == "DLKIT_WORKER_TIMEOUT_S: expected a number of seconds above 0 (got 'soon')"


def test_a_wait_past_its_deadline_ends_the_process_with_one_line() -> None:
    # a native wait deaf to signals is what the deadline is for; a sleep stands in for it
    code = textwrap.dedent(
        """
        import time
        from dlkit.training._multi_worker import deadline
        with deadline(0.5, "the cluster was not complete"):
            time.sleep(30)
        print("not reached")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "error: the cluster was not complete\n" and proc.stdout == ""


def test_a_block_within_its_deadline_goes_on() -> None:
    from dlkit.training._multi_worker import deadline

    with deadline(30, "unused"):
        pass
    # the native watchdog is cancelled with the block: nothing ends this process later
    import faulthandler

    faulthandler.cancel_dump_traceback_later()


def test_a_lost_worker_is_named_in_one_line() -> None:
    import tensorflow as tf

    from dlkit.training._multi_worker import lost_worker

    # what TensorFlow raises in the survivor when a worker stops sending heartbeats
    message = (
        "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks "
        "are unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed."
    )
    lost = lost_worker(tf.errors.UnavailableError(None, None, message), "worker 0")
    assert lost is not None and lost.exit_code == 1
    assert lost.message == (
        "train.strategy: multi_worker: worker 1 stopped during training (no heartbeat for 10 s or a "
        "failed exchange); this process stops too"
    )
    # a broken connection names the peer and this process's own device: the peer is named alone
    reset = (
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:CPU:0}} "
        "recvmsg:Connection reset by peer\nAdditional GRPC error information from remote target "
        "/job:worker/replica:0/task:1 while calling /tensorflow.WorkerService/RecvBuf"
    )
    lost = lost_worker(tf.errors.UnavailableError(None, None, reset), "worker 0")
    assert lost is not None and lost.message.startswith("train.strategy: multi_worker: worker 1 stopped")
    assert lost_worker(ValueError("not a lost worker"), "worker 0") is None
