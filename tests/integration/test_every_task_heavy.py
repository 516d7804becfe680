"""The longest cases of test_every_task.py, in a file of their own so that two test workers share
the cases (the runners give each file to one worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.tasks import TASKS
from tests.integration.test_every_task import HEAVY, check_every_command

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("task", HEAVY)
def test_every_command_on_every_heavy_task(task: str, workdir: Path, tracking_uri: str) -> None:
    assert task in TASKS.names()
    check_every_command(task, workdir)
