"""Shared fixtures: every test runs in its own folder with its own real MLflow SQLite store.

Creating a SQLite MLflow store runs its migrations (about a second), so one migrated store is
made per test session (per xdist worker) and copied for each test that tracks.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite store (made in a subprocess, once per worker)."""
    folder = tmp_path_factory.mktemp("store")
    db = folder / "mlflow.db"
    code = textwrap.dedent(
        f"""
        from mlflow.tracking import MlflowClient
        MlflowClient(tracking_uri="sqlite:///{db}").search_experiments()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    return db


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in its own empty folder, so nothing is written into the repository."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DLKIT_CACHE_DIR", str(tmp_path / "dlkit-cache"))  # never the user's cache
    return tmp_path


@pytest.fixture
def tracking_uri(workdir: Path, migrated_store: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real MLflow SQLite store in the test's folder, set as MLFLOW_TRACKING_URI."""
    db = workdir / "mlflow.db"
    shutil.copy(migrated_store, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(autouse=True)
def _clear_keras_session():
    yield
    if "keras" in sys.modules:
        # no full gc here: it scans TensorFlow's ~500k import-time objects, 0.4 s after every test
        sys.modules["keras"].backend.clear_session(free_memory=False)
        if gc.get_freeze_count() == 0:
            # the collector's own full scans would visit those objects too, a second or more each
            # under load (about twenty in one every-task case): keep what lives between tests
            # (TensorFlow, Keras, session fixtures) out of them. Garbage is collected first, so
            # nothing a test left is kept; a tuning study unfreezes on leaving (frozen_heap).
            gc.collect()
            gc.freeze()


@pytest.fixture(autouse=True)
def _restore_mlflow_default_store():
    """A test that calls ``mlflow.set_tracking_uri`` (to load ``runs:/`` models) leaves neither
    MLflow's default store nor the ``MLFLOW_TRACKING_URI`` it writes behind for later tests."""
    before_env = os.environ.get("MLFLOW_TRACKING_URI")
    utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    before_global = getattr(utils, "_tracking_uri", None)
    yield
    utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if utils is not None:
        utils._tracking_uri = before_global
    if before_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before_env


def end_process_group(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """End a process started with ``start_new_session=True`` and everything in its group.

    SIGTERM to the group, up to ``timeout`` seconds for the leader to exit, then SIGKILL to the
    group (also when the leader is gone: its children may not be), and close the pipes.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def running(
    cmd: list[str], *, stop_timeout: float = 10, **popen_kwargs: Any
) -> Iterator[subprocess.Popen[Any]]:
    """``subprocess.Popen(cmd, **popen_kwargs)`` in its own process group, ended on exit whatever happens.

    A test that fails or times out leaves no process behind (nor its children: a server's workers).
    Signals sent with ``proc.send_signal`` still go to the process alone.
    """
    proc = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
    try:
        yield proc
    finally:
        end_process_group(proc, stop_timeout)


# `python -c WATCHED_DLKIT ARGS...` is `python -m dlkit ARGS...` that says at exit whether it
# imported MLflow (its tracking writer process does: the command itself need not)
WATCHED_DLKIT = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('mlflow imported:', 'mlflow' in sys.modules)); "
    "runpy.run_module('dlkit', run_name='__main__', alter_sys=True)"
)


def write_recipe(folder: Path, text: str, name: str = "recipe.yaml") -> Path:
    """Write a recipe from an indented string and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


TINY_DIGITS = """
name: tiny-digits
seed: 0
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: cnn, filters: [8], dense: [16]}
train: {epochs: 2, batch_size: 64, optimizer: {type: adam, learning_rate: 0.01}}
targets: {human_error: 0.01}
"""


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished, untracked 2-epoch run on digits (train, train_dev, dev, test): its run dir.

    Session-scoped: read it, never modify it.
    """
    from dlkit import api

    folder = tmp_path_factory.mktemp("digits_run")
    recipe = api.load_recipe(write_recipe(folder, TINY_DIGITS), [f"tracking.runs_dir={folder / 'runs'}"])
    return api.train(recipe, track=False).run_dir
