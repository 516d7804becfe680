"""``dlkit doctor``: is this machine ready to train? Versions, devices, store, runs folder, smoke run.

Each check gives one :class:`Check`: ``ok``, ``warning`` (works, but something is worth
knowing) or ``fail`` (dlkit cannot work until it is fixed), and a fix for the last two. The
checks never write into the tracking store or the runs folder: writability is probed with a
temporary file, and the smoke run trains untracked in a temporary folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

from dlkit.errors import DlkitError

log = logging.getLogger(__name__)

Status = Literal["ok", "warning", "fail"]
MIN_PYTHON = (3, 11)
# (label, distributions to try: the first installed one is reported)
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("TensorFlow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")),
    ("Keras", ("keras",)),
    ("keras-tuner", ("keras-tuner",)),
    ("MLflow", ("mlflow", "mlflow-skinny")),
)


@dataclass(frozen=True)
class Check:
    """One check's outcome."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    """Every check, in the order they ran."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


def _version(distributions: tuple[str, ...]) -> str | None:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_versions() -> list[Check]:
    """Python, dlkit and the libraries dlkit trains and tracks with."""
    from dlkit import __version__

    python = ".".join(map(str, sys.version_info[:3]))
    checks = [
        Check("Python", "ok", python)
        if sys.version_info[:2] >= MIN_PYTHON
        else Check("Python", "fail", python, f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer"),
        Check("dlkit", "ok", __version__),
    ]
    for label, distributions in PACKAGES:
        found = _version(distributions)
        if found is None:
            checks.append(Check(label, "fail", "not installed", f"pip install {distributions[0]}"))
        else:
            checks.append(Check(label, "ok", found))
    return checks


def _nvidia_present() -> bool:
    """An NVIDIA driver is loaded (a GPU TensorFlow could use, if it was built with CUDA)."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def check_devices() -> list[Check]:
    """The GPUs TensorFlow sees, and whether ``mixed_precision: auto`` would turn mixed precision on."""
    from dlkit._tf import import_tensorflow
    from dlkit.training.runtime import gpu_supports_mixed_precision

    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        if _nvidia_present():
            return [
                Check(
                    "GPU",
                    "warning",
                    "an NVIDIA driver is loaded but TensorFlow sees no GPU; training runs on the CPU",
                    "pip install 'tensorflow[and-cuda]' (a TensorFlow built with CUDA)",
                )
            ]
        return [
            Check("GPU", "ok", "none; training runs on the CPU"),
            Check("mixed precision", "ok", "off (helps only on GPUs of compute capability 7.0+)"),
        ]
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        cc = f", compute capability {'.'.join(map(str, capability))}" if capability else ""
        names.append(f"{details.get('device_name', gpu.name)}{cc}")
    checks = [Check("GPU", "ok", f"{len(gpus)}: {'; '.join(names)}")]
    if gpu_supports_mixed_precision():
        checks.append(Check("mixed precision", "ok", "useful here: mixed_precision: auto turns it on"))
    else:
        checks.append(
            Check(
                "mixed precision",
                "warning",
                "off: no GPU of compute capability 7.0+ (float16 would be slower here)",
                "leave train.mixed_precision at auto or false",
            )
        )
    return checks


def _writable(folder: Path) -> str | None:
    """Why files cannot be made in ``folder`` (or its first existing parent), None when they can."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".dlkit-doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Environment variables set for the duration (those the user set are kept)."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def check_store(tracking_uri: str | None) -> Check:
    """The MLflow store answers (for SQLite: its folder and file are writable)."""
    from dlkit.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        problem = _writable(path.parent)
        if problem is not None:
            return Check(
                "MLflow store",
                "fail",
                f"{uri}: cannot write in {path.parent} ({problem})",
                "pass --tracking-uri sqlite:///<a writable folder>/mlflow.db",
            )
        if not path.exists():
            return Check("MLflow store", "ok", f"{uri} (made by the first tracked run)")
        if not os.access(path, os.W_OK):
            return Check("MLflow store", "fail", f"{uri}: the file is read-only", f"chmod u+w {path}")
    try:
        from dlkit.tracking.mlflow_tracker import MLflowStore

        # an unreachable server should fail in seconds, not after MLflow's retries and back-off
        with _environment(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5"):
            MLflowStore(uri).lookup("dlkit-doctor")  # lists experiments: a read that reaches the store
    except DlkitError as exc:
        return Check("MLflow store", "fail", exc.message, "start the server, or pass --tracking-uri")
    except Exception as exc:  # MLflow raises many types for a server it cannot reach
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check("MLflow store", "fail", f"{uri}: {first}", "start the server, or pass --tracking-uri")
    return Check("MLflow store", "ok", f"{uri} reachable")


def check_runs_dir(runs_dir: Path) -> Check:
    """Run folders (checkpoints, predictions) can be written under ``runs_dir``."""
    problem = _writable(runs_dir)
    if problem is not None:
        return Check("runs folder", "fail", f"{runs_dir}: {problem}", "pass --runs-dir <a writable folder>")
    return Check("runs folder", "ok", f"{runs_dir.resolve()} writable")


SMOKE_RECIPE = """\
name: doctor-smoke
seed: 0
data:
  source: {type: csv, path: smoke.csv, target: y}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [8]}
train: {epochs: 1, batch_size: 16}
tracking: {runs_dir: runs}
"""


def check_smoke() -> Check:
    """One epoch of a tiny MLP on generated data, untracked, in a temporary folder."""
    import numpy as np
    import pandas as pd

    from dlkit.recipe.loader import load_recipe
    from dlkit.training.trainer import train_recipe

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dlkit-doctor-") as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((80, 3))
        frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=(x[:, 0] > 0).astype(int))
        frame.to_csv(folder / "smoke.csv", index=False)
        (folder / "smoke.yaml").write_text(SMOKE_RECIPE, encoding="utf-8")
        recipe = load_recipe(folder / "smoke.yaml", [f"tracking.runs_dir={folder / 'runs'}"])
        try:
            result = train_recipe(recipe, track=False)
        except DlkitError as exc:
            return Check(
                "smoke run", "fail", f"1 epoch on generated data: {exc.message}", "dlkit -v doctor shows more"
            )
        except Exception as exc:
            log.debug("smoke run failed", exc_info=True)
            return Check(
                "smoke run",
                "fail",
                f"1 epoch on generated data: {type(exc).__name__}: {exc}",
                "dlkit -v doctor shows more; reinstall TensorFlow and Keras",
            )
        loss = result.metrics.get("train", {}).get("loss", float("nan"))
    if not np.isfinite(loss):
        return Check(
            "smoke run", "fail", f"train loss {loss} after 1 epoch", "reinstall TensorFlow and Keras"
        )
    return Check(
        "smoke run",
        "ok",
        f"1 epoch on generated data in {time.perf_counter() - start:.1f} s (loss {loss:.3f})",
    )


def run_checks(
    tracking_uri: str | None = None,
    runs_dir: Path = Path("runs"),
    smoke: bool = True,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check (the smoke run unless ``smoke`` is False), reporting each as it ends."""
    report = DoctorReport()

    def add(checks: Check | list[Check]) -> None:
        for check in checks if isinstance(checks, list) else [checks]:
            report.checks.append(check)
            if on_check is not None:
                on_check(check)

    add(check_versions())
    tensorflow_ok = all(c.status == "ok" for c in report.checks if c.name in ("TensorFlow", "Keras"))
    if tensorflow_ok:
        add(check_devices())
    add(check_store(tracking_uri))
    add(check_runs_dir(runs_dir))
    if smoke and tensorflow_ok:
        add(check_smoke())
    return report
