"""The temporary folders of streamed Parquet tables: one killed outright is removed by the next
process, never a running process's folder nor anything else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from dlkit.data import _parquet_rows
from dlkit.data._parquet_rows import PREFIX, _owner, _temp_folder, remove_stale_folders
from tests.conftest import REPO, running

# a process that makes its folder through the real function, says where, and waits
HOLDER = (
    "import time; from dlkit.data._parquet_rows import _temp_folder; "
    "print(_temp_folder(), flush=True); time.sleep(60)"
)


def _holder(tmp_path: Path) -> AbstractContextManager[subprocess.Popen[str]]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    return running([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=env)


def test_the_next_folder_removes_a_killed_processs_folder_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.f32").write_bytes(b"1234")
    with _holder(tmp_path) as killed, _holder(tmp_path) as alive:
        assert killed.stdout is not None and alive.stdout is not None
        stale, live = Path(killed.stdout.readline().strip()), Path(alive.stdout.readline().strip())
        assert stale.parent == live.parent == tmp_path and stale.is_dir() and live.is_dir()
        (stale / "t.f32").write_bytes(b"\0" * 64)
        (stale / "link").symlink_to(target)  # removed as a link, never followed
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        scope, start = _owner(os.getpid())
        dead = stale.name.split("-")[3]  # dlkit-parquet-<scope>-<pid>-<start>-<random>
        kept = [
            tmp_path / f"{PREFIX}{scope}-{dead}-{start}-afile",  # a file, not a folder
            tmp_path / f"{PREFIX}{scope}-{dead}-{start}-alink",  # a link to a folder
            tmp_path / f"{PREFIX}{'f' * 8}-{dead}-{start}-other",  # another machine or namespace
            tmp_path / f"{PREFIX}{scope}-{dead}-{start}-x.y",  # not a name dlkit makes
            tmp_path / f"{PREFIX}old_style",
        ]
        kept[0].write_text("")
        kept[1].symlink_to(target)
        for path in kept[2:]:
            path.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        monkeypatch.setattr(_parquet_rows, "_folder", None)
        mine = _temp_folder()

        assert not os.path.lexists(stale)
        assert live.is_dir() and mine.is_dir() and mine != live
        assert all(os.path.lexists(path) for path in kept)
        assert (target / "keep.f32").read_bytes() == b"1234"
        assert remove_stale_folders(tmp_path) == []  # the live one, and this process's, stay


def test_a_folder_named_with_a_running_pid_but_another_start_is_removed(tmp_path: Path) -> None:
    # a process number used again: the folder's owner was another process
    scope, start = _owner(os.getpid())
    if start == "0" * 8:
        pytest.skip("no /proc here to say when a process started")
    other = "1" * 8 if start != "1" * 8 else "2" * 8
    mine = tmp_path / f"{PREFIX}{scope}-{os.getpid()}-{start}-mine"
    reused = tmp_path / f"{PREFIX}{scope}-{os.getpid()}-{other}-reused"
    unknown = tmp_path / f"{PREFIX}{scope}-{os.getpid()}-{'0' * 8}-unknown"  # cannot tell: kept
    for path in (mine, reused, unknown):
        path.mkdir()
    (reused / "t.f32").write_bytes(b"\0" * 8)
    assert remove_stale_folders(tmp_path) == [reused]
    assert mine.is_dir() and unknown.is_dir()
