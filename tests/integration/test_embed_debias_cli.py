"""``dlkit embed debias`` on small vectors files: the shipped gender vectors (planted bias on
coordinate 0) and hand-made ones for the refusals. No TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dlkit.cli.embed_debias import register
from dlkit.gallery import GALLERY_DIR
from dlkit.models._embedding import read_vectors

VECTORS = GALLERY_DIR / "data" / "gender-vectors.txt"


@pytest.fixture(scope="module")
def embed() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, as the embed sub-app: `debias` is a sub-command
    register(app)
    return app


def test_debias_the_shipped_gender_vectors(embed: typer.Typer, workdir: Path) -> None:
    result = CliRunner().invoke(
        embed, ["debias", str(VECTORS), "--out", "debiased.txt", "--report", "report.csv"]
    )
    assert result.exit_code == 0, result.output
    assert "first principal component of 10 definitional pair(s), 89% of their variance" in result.output
    assert "cosine with woman − man: 0.952" in result.output
    before, _ = read_vectors(VECTORS, None)
    after, dim = read_vectors(workdir / "debiased.txt", None)
    assert list(after) == list(before) and dim == 12
    report = pd.read_csv(workdir / "report.csv").set_index("word")
    doc = json.loads(
        CliRunner().invoke(embed, ["debias", str(VECTORS), "--out", "again.txt", "--json"]).stdout
    )
    g = np.asarray(doc["direction"])
    assert g[0] > 0.99  # the planted gender axis, coordinate 0, found by the pairs' principal component
    for word in ("receptionist", "engineer", "table"):
        v = before[word].astype(np.float64)
        assert report.loc[word, "before"] == pytest.approx(v @ g / np.linalg.norm(v), abs=1e-6)
        assert report.loc[word, "role"] == "neutralized"
        assert report.loc[word, "after"] == pytest.approx(0.0, abs=1e-6)  # float32, as read
        assert after[word] @ g == pytest.approx(0.0, abs=1e-6)  # what was written, read back
    assert report.loc["receptionist", "before"] > 0.3 and report.loc["engineer", "before"] < -0.3
    # equalised pairs: opposite projections, equally far from every neutralised word
    assert report.loc["actress", "before"] != pytest.approx(-report.loc["actor", "before"], abs=1e-3)
    assert report.loc["actress", "after"] == pytest.approx(-report.loc["actor", "after"], abs=1e-6)
    for word in ("receptionist", "engineer", "doctor"):
        d1 = np.linalg.norm(after["actress"] - after[word])
        d2 = np.linalg.norm(after["actor"] - after[word])
        assert d1 == pytest.approx(d2, abs=1e-6)
    assert (
        report.loc["she", "role"] == "definitional"
        and report.loc["she", "after"] == report.loc["she", "before"]
    )
    assert "receptionist" in result.output and "debiased.txt" in result.output


def test_debias_json_with_given_lists(embed: typer.Typer, workdir: Path) -> None:
    (workdir / "pairs.txt").write_text("# two pairs\nshe he\n\ngirl boy\n", encoding="utf-8")
    (workdir / "neutral.txt").write_text("nurse\nengineer\n", encoding="utf-8")
    result = CliRunner().invoke(
        embed,
        [
            "debias",
            str(VECTORS),
            "--out",
            "out/debiased.txt",
            "--definitional",
            "pairs.txt",
            "--no-equalize",
            "--neutralize-words",
            "neutral.txt",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n_definitional_pairs"] == 2 and doc["pair"] == ["she", "he"]
    assert doc["counts"] == {"definitional": 4, "equalized": 0, "neutralized": 2, "kept": doc["n_words"] - 6}
    largest = doc["largest_neutralized"]
    assert {r["word"] for r in largest} == {"engineer", "nurse"}
    assert abs(largest[0]["before"]) >= abs(largest[1]["before"]) > 0.2
    assert all(abs(r["after"]) < 1e-6 for r in doc["largest_neutralized"])
    assert (workdir / "out" / "debiased.txt").is_file()


def _small(workdir: Path) -> Path:
    path = workdir / "small.txt"
    path.write_text("she 1 0.5 0\nhe -1 0.5 0\nnurse 0.3 0 1\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"p.txt": "she he\ngal guy\n"}, ["--definitional", "p.txt"], "p.txt: line 2: 'gal' is not in "),
        ({"p.txt": "she he her\n"}, ["--definitional", "p.txt"], "p.txt: line 1: expected two words"),
        ({}, ["--definitional", "none.txt"], "none.txt: definitional pairs file not found"),
        (
            {"p.txt": "she he\n", "n.txt": "nurse\ndoctor\n"},
            ["--definitional", "p.txt", "--no-equalize", "--neutralize-words", "n.txt"],
            "n.txt: line 2: 'doctor' is not in ",
        ),
        (
            {"p.txt": "she he\n"},
            ["--definitional", "p.txt"],
            "gender-equalize.txt: line 3: 'woman' is not in ",
        ),
        (
            {"p.txt": "# nothing\n"},
            ["--definitional", "p.txt"],
            "p.txt: the definitional pairs file lists no words",
        ),
    ],
)
def test_debias_refuses_in_one_line(embed: typer.Typer, workdir: Path, files, args, message) -> None:
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(embed, ["debias", str(_small(workdir)), "--out", "o.txt", *args])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (workdir / "o.txt").exists()


def test_debias_refuses_to_overwrite_its_input(embed: typer.Typer, workdir: Path) -> None:
    small = _small(workdir)
    result = CliRunner().invoke(embed, ["debias", str(small), "--out", str(small)])
    assert result.exit_code == 1
    assert "--out is the input vectors file" in result.output
