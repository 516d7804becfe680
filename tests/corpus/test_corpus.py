"""Every case of the corpus goes through the real CLI and is refused in one line, never a traceback.

``cases.yaml`` lists each broken recipe (or recipe over bad data), the command, the exit code
and the words its error line must hold; ``make.py`` writes the binary files into a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.data.sources import SOURCES
from dlkit.models import MODELS
from dlkit.recipe.schema import Recipe
from tests.corpus.make import make

CORPUS = Path(__file__).parent
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
COMMANDS = {"validate": ["recipe", "validate"], "split": ["split"], "train": ["train", "--no-track"]}


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the corpus folder (cases write runs and made files there, never here)."""
    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return {"folder": folder, "made": set()}


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.slow] if case.get("slow") else []
    return pytest.param(case, id=Path(case["file"]).stem, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_is_refused_in_one_line(
    case: dict[str, Any], corpus_copy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder: Path = corpus_copy["folder"]
    what = case.get("make")
    if what and what not in corpus_copy["made"]:
        make(folder, what)
        corpus_copy["made"].add(what)
    monkeypatch.chdir(folder)
    overrides = [arg for assignment in case.get("set", []) for arg in ("--set", assignment)]
    result = CliRunner().invoke(app, [*COMMANDS[case["command"]], case["file"], *overrides])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == case["exit"], result.output
    lines = result.output.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    hints = [line for line in lines if line.startswith("hint: ")]
    more = [line for line in lines if line.startswith("... and ")]
    assert len(errors) == case.get("lines", 1), result.output
    assert len(hints) <= 1, result.output
    if case["command"] != "train":  # train prints the split before it builds the model
        assert [line for line in lines if line.strip()] == [*errors, *more, *hints], result.output
    shown = "\n".join([*errors, *more])
    for word in case["words"]:
        assert word in shown, f"{word!r} not in:\n{result.output}"


def test_corpus_covers_every_section_source_and_model() -> None:
    assert len(CASES) >= 100
    assert len({c["file"] for c in CASES}) == len(CASES)
    sections = {c["section"] for c in CASES}
    for field in Recipe.model_fields:
        assert any(s == field or s.startswith(f"{field}.") for s in sections), field
    recipes = "\n".join(
        (CORPUS / c["file"]).read_text(encoding="utf-8", errors="replace")
        for c in CASES
        if (CORPUS / c["file"]).is_file()
    )
    for name in [*SOURCES.names(), *MODELS.names()]:
        assert f"type: {name}," in recipes or f"type: {name}}}" in recipes, name
    data_sections = {s.removeprefix("data: ") for s in sections if s.startswith("data: ")}
    assert set(SOURCES.names()) <= data_sections, set(SOURCES.names()) - data_sections
