"""Shared fixtures: every test runs in its own folder with its own real MLflow SQLite store.

Creating a SQLite MLflow store runs its migrations (about a second), so one migrated store is
made per test session (per xdist worker) and copied for each test that tracks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return db


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in its own empty folder, so nothing is written into the repository."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
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
