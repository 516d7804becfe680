"""Benchmark: how long light ``dlkit`` commands take to start, and whether they load TensorFlow.

Trains one tiny run (the breast-cancer logistic recipe, 1 epoch) in a temporary folder, then
times each command below as a fresh subprocess (median of ``--repeats``, Python's bytecode cached
in the temporary folder after the first run) and reports whether
``tensorflow`` was imported (``sys.modules`` at exit, in one more run of the command).
``models show`` answers from its cache after the first time (``DLKIT_CACHE_DIR`` is pointed at
an empty folder first): the first call is shown apart as "(first)".

Target (issue 15): ``dlkit --help``, ``recipe validate`` and the report commands under 0.5 s and
without TensorFlow; ``models show`` without building what it need not build.

Usage: python bench/startup.py [--repeats 5] [--json] [--run RUN_DIR] [--only LABEL,...]
       [--code CHECKOUT ...]

``--run`` times the report commands on a finished run instead of training one (on a loaded
machine the training takes minutes); with ``--only`` commands that read no run, none is trained.
The load average is printed before and after. ``--code`` times the commands of other checkouts too (this
one is the default); a row per command and checkout. Each repeat runs every command of every
checkout in turn (the first calls of ``models show`` before them all), so a change of load during
the session falls on all of them alike (timed one command after another, ``diagnose
--no-report`` seemed dearer than ``diagnose`` because it came second: interleaved, the two agree).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (wall s, CPU s, TensorFlow imported?, exit code)
Row = tuple[float, float, bool, int]

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "dlkit" / "gallery" / "cancer-logistic.yaml"

TRAIN_ARGS = ["--set", "train.epochs=1", "--no-track"]
RESNET50 = ["--set", "depth=50", "--input-shape", "224,224,3", "--classes", "1000"]
# (label, arguments, must it stay without TensorFlow?)
COMMANDS: list[tuple[str, list[str], bool]] = [
    ("--help", ["--help"], True),
    ("recipe validate", ["recipe", "validate", str(RECIPE)], True),
    ("runs list", ["runs", "list"], True),
    ("diagnose", ["diagnose", "RUN", "--human-error", "0.01"], True),
    ("diagnose --no-report", ["diagnose", "RUN", "--human-error", "0.01", "--no-report"], True),
    ("analyze-errors", ["analyze-errors", "RUN"], True),
    ("analyze-errors --no-report", ["analyze-errors", "RUN", "--no-report"], True),
    ("models list", ["models", "list"], True),
    ("models show cnn (first)", ["models", "show", "cnn"], False),
    ("models show cnn", ["models", "show", "cnn"], True),
    ("models show resnet50 (first)", ["models", "show", "resnet", *RESNET50], False),
    ("models show resnet50", ["models", "show", "resnet", *RESNET50], True),
]


# runs the CLI as ``python -m dlkit`` does and writes whether TensorFlow got imported
PROBE = """
import atexit, os, runpy, sys
def _mark():
    with open(os.environ["STARTUP_MARK"], "w") as f:
        f.write("yes" if "tensorflow" in sys.modules else "no")
atexit.register(_mark)
sys.argv = ["dlkit", *sys.argv[1:]]
runpy.run_module("dlkit", run_name="__main__", alter_sys=True)
"""


def run_once(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[bool, int]:
    """Whether ``dlkit ARGS`` imported TensorFlow, and its exit code."""
    mark = cwd / "tf-mark.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env={**env, "STARTUP_MARK": str(mark)},
        capture_output=True,
        text=True,
        check=False,
    )
    return mark.read_text() == "yes", proc.returncode


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of ``python -m dlkit ARGS``.

    On a shared machine the wall time grows with the load; the CPU time much less.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dlkit", *args], cwd=cwd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _first_call(command: list[str], work: Path, env: dict[str, str], codes: list[Path]) -> list[Row]:
    """(wall s, CPU s, TensorFlow imported?, exit code) of one call per checkout: a command whose
    second call is answered from a cache (``(first)``)."""
    out = []
    for code in codes:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        tf_loaded, rc = run_once(command, work, {**env, "PYTHONPATH": str(code)})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.append((time.perf_counter() - start, cpu, tf_loaded, rc))
    return out


def _time_commands(
    commands: list[list[str]], work: Path, env: dict[str, str], codes: list[Path], repeats: int
) -> list[list[Row]]:
    """(median wall s, median CPU s, TensorFlow imported?, exit code) of each command per checkout.

    Each repeat runs every command of every checkout in turn, so a change of load (or of the
    processor's clock) during the session falls on all of them alike, not on whichever command
    happens to be timed last.
    """
    envs = [{**env, "PYTHONPATH": str(code)} for code in codes]
    checks = [[run_once(command, work, code_env) for code_env in envs] for command in commands]
    runs: list[list[list[tuple[float, float]]]] = [[[] for _ in codes] for _ in commands]
    for _ in range(repeats):
        for i, command in enumerate(commands):
            for k, code_env in enumerate(envs):
                runs[i][k].append(timed(command, work, code_env))
    return [
        [
            (statistics.median(w for w, _ in r), statistics.median(c for _, c in r), tf, rc)
            for r, (tf, rc) in zip(per_code, check, strict=True)
        ]
        for per_code, check in zip(runs, checks, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--run", type=Path, help="a finished run directory to read (default: train one)")
    parser.add_argument("--only", help="time only these commands (labels, comma-separated)")
    parser.add_argument(
        "--code", type=Path, action="append", help="a checkout whose dlkit to time (repeat; default: here)"
    )
    args = parser.parse_args()
    codes = [c.resolve() for c in args.code] if args.code else [ROOT]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(codes[0])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env["DLKIT_CACHE_DIR"] = str(work / "cache")
        # bytecode cached (in the temporary folder, not the checkout), as an installed package
        # has it: compiling dlkit's sources again in every run would cost about 0.25 s each
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        chosen = COMMANDS if args.only is None else [c for c in COMMANDS if c[0] in args.only.split(",")]
        run_dir = work / "runs"
        if not any("RUN" in command for _, command, _ in chosen):
            pass  # no command reads a run: none is trained
        elif args.run is None:
            subprocess.run(
                [sys.executable, "-m", "dlkit", "train", str(RECIPE), *TRAIN_ARGS],
                cwd=work,
                env=env,
                capture_output=True,
                check=True,
            )
            run_dir = next(p for p in (work / "runs").iterdir() if p.is_dir())
        else:  # a copy: diagnose and analyze-errors write their reports into the run directory
            run_dir = work / "runs" / args.run.name
            shutil.copytree(args.run, run_dir)
        if not args.json:
            print(_load_line("before"), flush=True)
        resolved = [[str(run_dir) if a == "RUN" else a for a in command] for _, command, _ in chosen]
        # a first call (its cache still empty) runs before the others, which then answer from it
        firsts = {
            i: _first_call(resolved[i], work, env, codes) for i, c in enumerate(chosen) if _is_first(c[0])
        }
        others = [i for i in range(len(chosen)) if i not in firsts]
        timed_rows = dict(
            zip(
                others,
                _time_commands([resolved[i] for i in others], work, env, codes, args.repeats),
                strict=True,
            )
        )
        for i, (label, _, light) in enumerate(chosen):
            for code, (seconds, cpu, tf_loaded, rc) in zip(
                codes, firsts.get(i) or timed_rows[i], strict=True
            ):
                row = {
                    "command": f"dlkit {label}",
                    "seconds": round(seconds, 2),
                    "cpu_seconds": round(cpu, 2),
                    "tensorflow": tf_loaded,
                    "rc": rc,
                }
                if len(codes) > 1:
                    row["code"] = str(code)
                rows.append(row)
                ok = "ok" if rc == 0 and not (light and tf_loaded) else "CHECK"
                if not args.json:
                    tf = "yes" if tf_loaded else "no"
                    where = f"  {code}" if len(codes) > 1 else ""
                    print(
                        f"{'dlkit ' + label:<32} {seconds:6.2f} s wall {cpu:6.2f} s CPU  "
                        f"tensorflow={tf:<4} rc={rc} {ok}{where}",
                        flush=True,
                    )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_load_line("after"), flush=True)


def _is_first(label: str) -> bool:
    return label.endswith("(first)")


def _load_line(when: str) -> str:
    """The machine's load average: CPU seconds compare across loads, wall seconds do not."""
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


if __name__ == "__main__":
    main()
