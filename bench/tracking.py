"""Benchmark: the whole ``dlkit train`` command on the quick start, tracked in MLflow vs untracked.

Runs ``python -m dlkit train recipes/digits-cnn.yaml --set train.epochs=N`` as a fresh process,
in turn with ``--no-track`` and tracked in a SQLite store (created and migrated by a warm-up run
first, as a user's store is after their first run), ``--repeats`` times each, and prints the
median wall time of each and their ratio, and the same of the CPU time (user + system) each
command used: on a shared machine the CPU seconds vary far less than the wall time. A run's
time is the whole command: imports, split, training, predictions, and for the tracked run the
store, params, per-epoch metrics, artifacts and the logged MLflow Model.

``--resume`` times ``dlkit train --resume RUN --set train.epochs=N`` instead: a run of one
epoch is trained first (tracked, and untracked), then each command trains it ``--epochs`` more,
so the tracked command reopens its MLflow run where the untracked one has none.

``--tune`` times ``dlkit tune recipes/digits-tune.yaml --trials 4 --rounds 1`` instead (its
trials of ``--epochs`` epochs, in a new study folder each time): a study's MLflow records are
its run, a run per round and one per trial, and the best trial's MLflow Model.

``--code`` names the dlkit checkout measured (this one by default); given twice (before and
after), both are measured in one run, their commands interleaved, so that both see the same
machine load.

Usage: python bench/tracking.py [--epochs 1] [--repeats 5] [--resume | --tune]
                                [--code CHECKOUT [--code OTHER]]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux): a tracked command's
    writer process outlives it by a moment, and is then reaped here, its CPU time counted."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap_orphans() -> None:
    """Wait for every orphan adopted (nothing else runs under this script)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def run(
    folder: Path, epochs: int, track: bool, code: str, resume: Path | None = None, tune: bool = False
) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``dlkit train`` command in a fresh process
    (the CPU of its tracking writer process included); ``resume``: the run it resumes; ``tune``:
    a ``dlkit tune`` study instead."""
    cmd = [sys.executable, "-m", "dlkit", "train"]
    if tune:
        study = Path(tempfile.mkdtemp(dir=folder, prefix="study-"))
        study.rmdir()  # the study makes its folder
        cmd = [sys.executable, "-m", "dlkit", "tune", str(REPO / "recipes" / "digits-tune.yaml")]
        cmd += ["--trials", "4", "--rounds", "1", "--study", str(study)]
        if not track:
            cmd.append("--no-track")
    elif resume is None:
        cmd += [str(REPO / "recipes" / "digits-cnn.yaml"), "--set", f"tracking.runs_dir={folder / 'runs'}"]
        if not track:
            cmd.append("--no-track")
    else:
        cmd += ["--resume", str(resume)]
    cmd += ["--set", f"train.epochs={epochs}"]
    env = {
        **os.environ,
        "PYTHONPATH": code,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=folder, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resume", action="store_true", help="time resuming a run, not starting one")
    parser.add_argument("--tune", action="store_true", help="time a dlkit tune study, not a training")
    parser.add_argument("--code", action="append", help="a dlkit checkout measured (twice: before and after)")
    args = parser.parse_args()
    adopt_orphans()
    codes: list[str] = args.code or [str(REPO)]
    sys.path.insert(0, codes[-1])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from overhead import versions  # a script beside this one, not a package

    print(versions())
    with tempfile.TemporaryDirectory() as tmp:
        folders = {code: Path(tmp) / str(k) for k, code in enumerate(codes)}
        first = {}
        for code, folder in folders.items():
            folder.mkdir()
            first[code], _ = run(folder, args.epochs, True, code, tune=args.tune)  # creates the store
        times: dict[tuple[str, bool], list[tuple[float, float]]] = {
            (code, track): [] for code in codes for track in (False, True)
        }
        resumed: dict[tuple[str, bool], Path] = {}
        if args.resume:  # one run each, of one epoch, that every command trains further
            for code, folder in folders.items():
                for track in (False, True):
                    runs = folder / ("tracked" if track else "untracked")
                    runs.mkdir()
                    run(runs, 1, track, code)
                    (resumed[code, track],) = (runs / "runs").iterdir()
        epochs = {key: 1 for key in times}
        loads = [os.getloadavg()[0]]
        for i in range(args.repeats):
            for code in codes if i % 2 == 0 else codes[::-1]:
                for track in (False, True) if i % 2 == 0 else (True, False):
                    epochs[code, track] += args.epochs
                    n = epochs[code, track] if args.resume else args.epochs
                    times[code, track].append(
                        run(folders[code], n, track, code, resumed.get((code, track)), tune=args.tune)
                    )
                    loads.append(os.getloadavg()[0])
    what = "dlkit train --resume, +" if args.resume else "dlkit train,"
    what = "dlkit tune, 4 trials of" if args.tune else what
    print(
        f"{what} {'digits-tune' if args.tune else 'quick start'}, {args.epochs} epoch(s), "
        f"whole command, median of {args.repeats} "
        f"(alternating); load average {min(loads):.1f} to {max(loads):.1f}"
    )
    for code in codes:
        print(f"{code} (first tracked run, creating the store: {first[code]:.1f} s)")
        for k, what in enumerate(("wall", "CPU")):
            untracked, tracked = (
                statistics.median(t[k] for t in times[code, track]) for track in (False, True)
            )
            print(
                f"  {what:4}  untracked {untracked:.1f} s   tracked {tracked:.1f} s   "
                f"ratio {tracked / untracked:.2f}x\n"
                f"        all untracked: {', '.join(f'{t[k]:.1f}' for t in times[code, False])}\n"
                f"        all tracked:   {', '.join(f'{t[k]:.1f}' for t in times[code, True])}"
            )


if __name__ == "__main__":
    main()
