"""The run directory: everything later commands need, in plain files (no TensorFlow to read).

Layout (``runs/<run name>/``)::

    run.json                 status, ids, task, classes, split sizes, data hash, tracking location
    recipe.yaml              the resolved recipe (every default written out)
    split/manifest.parquet   one row per example: id, set, input_hash, dev_part (with eyeball)
    split/summary.json       sizes and class counts per set, the rule that chose the fractions
    model/model.keras        the trained model, normalisation included (takes raw inputs)
    predictions/<set>.parquet  per example, inference mode: id, y_true, y_pred, correct,
                             confidence, loss, proba_<k> (class index k), metadata columns
    metrics.json             per set: n, loss, accuracy and error (or mse, mae)
    history.csv              per epoch: Keras logs and the learning rate
    checkpoints/             last.keras, best.keras, state.json (kept locally)

The same tree (less checkpoints) is logged to MLflow as the run's artifacts.

While a run trains, run.json names its process (``pid``, ``host``) and carries a ``heartbeat``
(UTC time) renewed every epoch and every :data:`HEARTBEAT_S` seconds in between, so that a run
whose process died without a word (SIGKILL, a power cut) is told from one still training
(:func:`run_state`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dlkit._lazy import lazy_module
from dlkit.errors import RunNotFoundError

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")

RUN_FILE = "run.json"
HEARTBEAT_S = 15.0
# a heartbeat older than this is a dead run's (its writer is a thread: only a process that is
# gone, frozen or unreachable misses it for minutes)
STALE_AFTER_S = 300.0

RunState = Literal["RUNNING", "DEAD", "FINISHED", "FAILED", "KILLED"]

_info_lock = threading.Lock()  # run.json is rewritten by the run and by its heartbeat


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class RunDir:
    """Paths and readers for one run directory."""

    path: Path

    @property
    def info_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "split" / "manifest.parquet"

    @property
    def split_summary_path(self) -> Path:
        return self.path / "split" / "summary.json"

    @property
    def model_path(self) -> Path:
        return self.path / "model" / "model.keras"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def history_path(self) -> Path:
        return self.path / "history.csv"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def scratch(self) -> Path:
        """Files kept while the run trains (a streamed table's parsed rows, a streamed image
        folder's decoded images), removed after."""
        return self.path / "scratch"

    def predictions_path(self, split: str) -> Path:
        return self.path / "predictions" / f"{split}.parquet"

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self.info_path.read_text(encoding="utf-8")))

    def update_info(self, **fields: Any) -> None:
        with _info_lock:
            info = self.info() if self.info_path.exists() else {}
            info.update(fields)
            write_json(self.info_path, info)

    def beat(self) -> None:
        """Renew the run's heartbeat: its process is alive and training."""
        self.update_info(heartbeat=_now())

    def metrics(self) -> dict[str, dict[str, float]]:
        return dict(json.loads(self.metrics_path.read_text(encoding="utf-8")))

    def manifest(self) -> pd.DataFrame:
        return pd.read_parquet(self.manifest_path)

    def predictions(self, split: str) -> pd.DataFrame:
        return pd.read_parquet(self.predictions_path(split))

    def splits_with_predictions(self) -> list[str]:
        from dlkit.data.split import SPLITS

        return [s for s in SPLITS if self.predictions_path(s).exists()]

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Open an existing run directory.

        Raises:
            RunNotFoundError: ``path`` has no run.json.
        """
        run = cls(Path(path))
        if not run.info_path.is_file():
            raise RunNotFoundError(f"{path}: not a dlkit run directory (no {RUN_FILE})")
        return run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def owner() -> dict[str, Any]:
    """What run.json records about the process that trains a run: pid, host, a fresh heartbeat."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "heartbeat": _now()}


class Heartbeat:
    """Renews a run's ``heartbeat`` in run.json every :data:`HEARTBEAT_S` seconds, from a thread
    (so that long phases, an evaluation or a slow epoch, keep it fresh), until stopped."""

    def __init__(self, run: RunDir, interval: float = HEARTBEAT_S) -> None:
        self.run = run
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="dlkit-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):  # a full disk, a vanished folder: the run will say
                self.run.beat()


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would end it: only the heartbeat tells
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:  # a zombie (ended, not yet reaped by its parent) is dead
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def run_state(run: RunDir, *, stale_after: float = STALE_AFTER_S) -> RunState:
    """Whether a run is training now: its recorded status, with RUNNING checked against its process.

    A RUNNING run is DEAD when its process is gone (on this host), or when its heartbeat is older
    than ``stale_after`` seconds (any host: a process on another machine cannot be asked; on this
    one, a reused pid). A RUNNING run that records no process (written by an older dlkit) is DEAD.
    """
    info = run.info()
    status = str(info.get("status", "RUNNING"))
    if status != "RUNNING":
        return status  # type: ignore[return-value]
    beat = info.get("heartbeat")
    if beat is None or info.get("pid") is None:
        return "DEAD"
    age = (datetime.now(UTC) - datetime.fromisoformat(beat)).total_seconds()
    if age > stale_after:
        return "DEAD"
    if info.get("host") == socket.gethostname() and not _pid_alive(int(info["pid"])):
        return "DEAD"
    return "RUNNING"
