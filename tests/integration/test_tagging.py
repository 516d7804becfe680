"""`dlkit analyze-errors RUN --tag` driven through a pseudo-terminal: tag, quit, resume, finish, report."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pexpect
import pytest

from dlkit.runs.tagging import TaggingSession
from tests.conftest import REPO
from tests.integration.test_analyze_errors import _copy_run


def _spawn(run: Path, *extra: str) -> pexpect.spawn:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("MLFLOW_TRACKING_URI", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "dlkit", "analyze-errors", str(run), "--tag", *extra],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )


@pytest.fixture
def spawn() -> Iterator[Callable[..., pexpect.spawn]]:
    """``_spawn``, with every child it started ended when the test ends, whatever happens.

    A child runs in its own session (pexpect's pty fork): closed (SIGHUP, SIGINT, then SIGKILL),
    then whatever is left of its process group killed.
    """
    children: list[pexpect.spawn] = []

    def start(run: Path, *extra: str) -> pexpect.spawn:
        child = _spawn(run, *extra)
        children.append(child)
        return child

    yield start
    for child in children:
        with contextlib.suppress(Exception):
            child.close(force=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)


def _screen(child: pexpect.spawn, n: int, total: int) -> None:
    child.expect(f"Example {n} of {total} ")
    child.expect("every change is saved")


def test_tag_quit_resume_finish_report(digits_run: Path, tmp_path: Path, spawn):
    run = _copy_run(digits_run, tmp_path, {"categories": ["blurry", "thin"], "sample": 3})
    child = spawn(run)
    _screen(child, 1, 3)
    assert "▀" in child.before  # the 8x8 digit drawn with half blocks
    child.send("1")  # blurry
    child.expect(r"blurry: yes \(saved\)")
    child.send("c")
    child.expect("comment")
    child.sendline("stroke fades out")
    _screen(child, 1, 3)
    child.send("n")
    _screen(child, 2, 3)
    child.send("2")  # thin
    child.expect(r"thin: yes \(saved\)")
    child.send("q")
    child.expect("Stopped; every tag is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    assert sheet["blurry"].tolist() == ["1", "0", "0"]
    assert sheet["thin"].tolist() == ["0", "1", "0"]
    assert sheet["comments"].tolist() == ["stroke fades out", "", ""]

    # resume: back where it stopped, tags intact
    child = spawn(run)
    _screen(child, 2, 3)
    assert "[x] thin" in child.before
    child.expect("resumed at example 2")
    child.send("l")  # the right label: tags incorrectly_labelled too
    child.expect("corrected label")
    child.sendline("not-a-class")
    child.expect("not saved: 'not-a-class' is not a class")
    child.send("l")
    child.expect("corrected label")
    classes = [str(c) for c in json.loads((run / "run.json").read_text())["classes"]]
    true_label = sheet["y_true"][1]
    right = next(c for c in classes if c != true_label)
    child.sendline(right)
    child.expect(f"Corrected label: {right}")
    child.send("b")  # back to the first: its tags are shown
    _screen(child, 1, 3)
    assert "[x] blurry" in child.before
    child.send("n")
    child.send("n")
    _screen(child, 3, 3)
    child.send("n")  # past the last one: the report
    child.expect("All 3 examples seen")
    child.expect("Incorrectly labelled: 1 of 3 reviewed errors")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    assert sheet["incorrectly_labelled"].tolist() == ["0", "1", "0"]
    assert sheet["corrected_label"].tolist() == ["", right, ""]
    parquet = pd.read_parquet(run / "analysis" / "errors.parquet")
    assert parquet["blurry"].tolist() == [True, False, False]
    report = (run / "reports" / "errors.html").read_text()
    assert "blurry" in report and "stroke fades out" in report


def test_tag_refuses_without_a_terminal(digits_run: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from dlkit.cli import app

    run = _copy_run(digits_run, tmp_path)
    result = CliRunner().invoke(app, ["analyze-errors", str(run), "--tag"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: --tag: needs an interactive terminal"
    assert not (run / "analysis").exists()


def test_every_change_is_on_disk_at_once_and_survives_a_crash(tmp_path: Path):
    sheet = tmp_path / "errors.csv"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "y_true": ["1", "2"],
            "y_pred": ["2", "1"],
            "blurry": ["0", "x"],
            "comments": ["", ""],
        }
    ).to_csv(sheet, index=False)
    session = TaggingSession.open(sheet, ["1", "2"])
    assert session.categories == ["blurry"] and session.flags() == {"blurry": False}
    session.toggle("blurry")
    session.move(+1)
    session.set_comment("odd")
    # a new session (the first one never closed) sees every change and the position
    again = TaggingSession.open(sheet, ["1", "2"])
    assert again.position == 1 and again.frame["blurry"].tolist() == ["1", "x"]
    assert again.frame["comments"].tolist() == ["", "odd"]
    with pytest.raises(ValueError, match="'3' is not a class"):
        again.set_corrected_label("3")
    assert not list(tmp_path.glob(".*.tmp"))


def test_half_blocks_draw_two_pixel_rows_per_line():
    from dlkit.cli.tagging import half_blocks

    image = np.array([[0.0, 1.0], [1.0, 0.0]])
    text = half_blocks(image, scale=1)
    assert text.plain == "▀▀\n"
    styles = [str(span.style) for span in text.spans]
    assert styles == ["rgb(0,0,0) on rgb(255,255,255)", "rgb(255,255,255) on rgb(0,0,0)"]
