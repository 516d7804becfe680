"""CLI conventions: help a person reads (no Python types after flags, one name per argument),
``dlkit tune``'s usage, ``dlkit ui`` on a tracking server. No TensorFlow, no training."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*prefix, name))
    return found


COMMANDS = _paths(typer.main.get_command(app))


def _help(argv: list[str]) -> str:
    result = runner.invoke(app, [*argv, "--help"], prog_name="dlkit", env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    assert {("train",), ("tune",), ("tune", "run"), ("ui",), ("diagnose",), ("recipe", "show")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv) or "dlkit")
def test_help_names_values_not_python_types(argv: tuple[str, ...]) -> None:
    text = _help(list(argv))
    # typer's own rendering of types: <bool>, <path>, <str>, <int>, <list[str]>, <float>
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", text), text
    # a flag is followed by its help, not by a value name
    assert re.search(r"--help\s+Show this message and exit", text), text


def test_command_summaries_read_as_sentences_not_docstring_lines() -> None:
    listing = _help([])
    # gradcheck's docstring breaks its first sentence after "(float64,"; the listing does not
    assert re.search(r"gradcheck\s+Compare .*\(float64, dropout off, regularisation included\)", listing)
    assert re.search(r"evaluate\s+Analogy accuracy .* with coverage \(questions skipped", _help(["embed"]))


def test_one_spelling_of_each_argument() -> None:
    assert "Usage: dlkit train [OPTIONS] [RECIPE]" in _help(["train"])
    assert "--resume          RUN" in _help(["train"])
    assert "Usage: dlkit diagnose [OPTIONS] {RUN}..." in _help(["diagnose"])
    assert "Usage: dlkit analyze-errors [OPTIONS] {RUN}" in _help(["analyze-errors"])
    assert "Usage: dlkit tune refine [OPTIONS] {STUDY}" in _help(["tune", "refine"])
    assert "Usage: dlkit recipe validate [OPTIONS] {RECIPE}" in _help(["recipe", "validate"])
    assert "--set             PATH=VALUE" in _help(["recipe", "show"])


def test_tune_help_is_the_study_s_usage_and_options() -> None:
    text = _help(["tune"])
    assert "Usage: dlkit tune RECIPE [OPTIONS]" in text
    for option in ("--trials", "--rounds", "--strategy", "--resume          STUDY", "--no-track"):
        assert option in text
    assert "dlkit tune refine STUDY" in text and "dlkit tune preview RECIPE" in text
    # no arguments at all: the same help
    bare = runner.invoke(app, ["tune"], prog_name="dlkit", env=WIDE)
    assert "Usage: dlkit tune RECIPE [OPTIONS]" in bare.output


def test_ui_on_a_tracking_server_prints_its_address() -> None:
    result = runner.invoke(app, ["ui", "--tracking-uri", "http://127.0.0.1:5055"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "http://127.0.0.1:5055 is an MLflow tracking server: its UI is at http://127.0.0.1:5055"
    )
    from_env = runner.invoke(app, ["ui"], env={**WIDE, "MLFLOW_TRACKING_URI": "https://mlflow.example.org"})
    assert from_env.exit_code == 0 and "its UI is at https://mlflow.example.org" in from_env.output


def test_ui_help_has_host_and_port_defaults() -> None:
    text = _help(["ui"])
    assert re.search(r"--host\s+HOST\s+.*\[default: 127\.0\.0\.1\]", text), text
    assert re.search(r"--port\s+PORT\s+.*\[default: 5000\]", text), text
