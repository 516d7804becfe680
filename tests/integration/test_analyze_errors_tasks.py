"""`dlkit analyze-errors` on sequence and multitask runs: known answers from hand-made run directories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dlkit.cli import app
from tests.integration.test_diagnose_tasks import _cells, _multitask

runner = CliRunner()


def _run(root: Path, task: str, frames: dict[str, pd.DataFrame], **info: object) -> Path:
    path = root / "run"
    (path / "predictions").mkdir(parents=True)
    for split, frame in frames.items():
        frame.to_parquet(path / "predictions" / f"{split}.parquet", index=False)
    (path / "recipe.yaml").write_text(
        yaml.safe_dump({"name": "r", "seed": 0, "analysis": {"categories": ["typo"]}})
    )
    run_info = {"run_name": "r", "status": "FINISHED", "task": task, **info}
    (path / "run.json").write_text(json.dumps(run_info), encoding="utf-8")
    return path


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, ["analyze-errors", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _decoded(accuracies: list[float], lengths: list[int], start: int = 0) -> pd.DataFrame:
    """seq2seq predictions: an example is right exactly when its token accuracy is 1."""
    n = len(accuracies)
    inputs = [f"in{start + i}" for i in range(n)]
    correct = np.asarray(accuracies) == 1.0
    return pd.DataFrame(
        {
            "id": np.arange(start, start + n),
            "input": inputs,
            "y_true": [s[::-1] for s in inputs],
            "y_pred": [s[::-1] if ok else "x" for s, ok in zip(inputs, correct, strict=True)],
            "correct": correct,
            "token_accuracy": accuracies,
            "length": lengths,
        }
    )


# dev: 8 short (length 2) examples with 1 wrong, 4 long (length 5) with 3 wrong
DEV_ACCURACY = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 0.2, 0.8, 0.0]
DEV_LENGTH = [2] * 8 + [5] * 4


def test_seq2seq_worst_examples_scores_per_set_and_error_by_length(workdir: Path) -> None:
    train = _decoded([1.0] * 9 + [0.5], [2] * 10, start=100)
    run = _run(workdir, "seq2seq", {"train": train, "dev": _decoded(DEV_ACCURACY, DEV_LENGTH)})
    out = _json([str(run)])
    assert (out["n"], out["n_errors"], out["error"]) == (12, 4, pytest.approx(4 / 12))
    # the wrong ones, lowest token accuracy first
    worst = out["sequence"]["worst"]
    assert [w["id"] for w in worst] == [11, 9, 7, 10]
    assert [w["token_accuracy"] for w in worst] == [0.0, 0.2, 0.5, 0.8]
    assert worst[0]["input"] == "in11"
    sets = {s["set"]: s for s in out["sequence"]["sets"]}
    assert list(sets) == ["train", "dev"]
    assert sets["train"]["exact_match"] == pytest.approx(0.9)
    assert sets["dev"]["exact_match"] == pytest.approx(8 / 12)
    assert sets["dev"]["position_accuracy"] == pytest.approx(np.mean(DEV_ACCURACY))  # mean per example
    lengths = {r["length"]: r for r in out["sequence"]["by_length"]}
    assert (lengths["2"]["n"], lengths["2"]["n_errors"]) == (8, 1)
    assert (lengths["5"]["n"], lengths["5"]["error_rate"]) == (4, pytest.approx(0.75))
    assert lengths["5"]["position_accuracy"] == pytest.approx((0.2 + 0.8 + 0.0 + 1.0) / 4)

    # the wrong ones go on the sheet, with their input and token accuracy
    sheet = pd.read_csv(run / "analysis" / "errors.csv")
    assert sorted(sheet["id"]) == [7, 9, 10, 11]
    assert list(sheet.columns) == [
        "id",
        "y_true",
        "y_pred",
        "input",
        "token_accuracy",
        "length",
        "typo",
        "incorrectly_labelled",
        "corrected_label",
        "comments",
    ]
    page = (run / "analysis" / "errors.html").read_text()
    assert "4 wrong dev examples" in page and "in11" in page
    report = (run / "reports" / "errors.html").read_text()
    assert "Worst examples (wrong sequences, lowest token accuracy first)" in report
    assert "Error by reference length" in report


def test_seq2seq_tags_give_ceilings_of_one_minus_exact_match(workdir: Path) -> None:
    run = _run(
        workdir, "seq2seq", {"train": _decoded([1.0] * 4, [2] * 4), "dev": _decoded(DEV_ACCURACY, DEV_LENGTH)}
    )
    _json([str(run), "--no-report"])
    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    sheet["typo"] = ["1", "0", "0", "0"]  # 1 of the 4 errors
    filled = workdir / "filled.csv"
    sheet.to_csv(filled, index=False)
    out = _json([str(run), "--tags", str(filled), "--no-report"])
    rows = {r["name"]: r for r in out["categories"]["rows"]}
    assert rows["typo"]["share"] == pytest.approx(0.25)
    assert rows["typo"]["ceiling"] == pytest.approx(0.25 * 4 / 12)
    assert out["categories"]["dev_error"] == pytest.approx(4 / 12)


def _steps(rights: list[list[bool]], start: int = 0) -> pd.DataFrame:
    """Per-step predictions: each sequence's steps right (True) or wrong."""
    truth = [["a"] * len(r) for r in rights]
    pred = [["a" if ok else "b" for ok in r] for r in rights]
    return pd.DataFrame(
        {
            "id": np.arange(start, start + len(rights)),
            "y_true": truth,
            "y_pred": pred,
            "correct": [all(r) for r in rights],
            "step_accuracy": [sum(r) / len(r) for r in rights],
            "length": [len(r) for r in rights],
        }
    )


def test_per_step_labels_pool_step_accuracy_over_steps(workdir: Path) -> None:
    dev = _steps([[True, True, False], [True], [False, False], [True, True, True, True]])
    run = _run(workdir, "sequence_labeling", {"train": _steps([[True]] * 4, start=10), "dev": dev})
    out = _json([str(run)])
    (_, dev_scores) = out["sequence"]["sets"]
    assert dev_scores["exact_match"] == pytest.approx(0.5)
    assert dev_scores["position_accuracy"] == pytest.approx(7 / 10)  # right steps over labelled steps
    worst = out["sequence"]["worst"]
    assert [w["id"] for w in worst] == [2, 0]
    assert worst[1]["y_true"] == "a a a" and worst[1]["y_pred"] == "a a b"
    assert [r["length"] for r in out["sequence"]["by_length"]] == ["1", "2", "3", "4"]
    assert "step accuracy (over steps)" in (run / "reports" / "errors.html").read_text()


def test_multitask_reads_each_task_as_a_binary_classification(workdir: Path) -> None:
    dev = _multitask({"a": _cells(20, 4, 5), "b": _cells(10, 1, 15)})
    train = _multitask({"a": _cells(20, 0, 5), "b": _cells(10, 0, 15)})
    run = _run(workdir, "multitask", {"train": train, "dev": dev}, classes=["a", "b"])
    out = _json([str(run)])
    a, b = out["tasks"]["a"], out["tasks"]["b"]
    assert (a["n"], a["n_errors"], a["error"]) == (20, 4, pytest.approx(0.2))
    assert (b["n"], b["n_errors"], b["error"]) == (10, 1, pytest.approx(0.1))
    assert a["confusion"] == {"classes": ["0", "1"], "matrix": [[8, 2], [2, 8]]}
    assert {p["count"] for p in a["most_confused"]} == {2}
    # the wrong examples have the highest loss of their task
    assert {row["id"] for row in a["highest_loss"][:4]} == {0, 1, 2, 3}
    assert b["highest_loss"][0]["id"] == 0 and b["highest_loss"][0]["y_true"] == 0
    assert out["sheet"] is None
    report = (run / "reports" / "errors.html").read_text()
    assert report.count("Confusion matrix") == 2 and "<h2>Task b</h2>" in report
    text = runner.invoke(app, ["analyze-errors", str(run), "--no-report"], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "Task a: dev error 20.0% (4 of 20 labelled examples)." in text.stdout


@pytest.mark.parametrize(
    ("task", "option", "message"),
    [
        ("multitask", ["--tags", "s.csv"], "--tags: task multitask has no error sheet"),
        ("multitask", ["--label-issues"], "--label-issues: suspected label errors are for class labels"),
        ("seq2seq", ["--folds", "2"], "--folds: suspected label errors are for class labels"),
        (
            "seq2seq",
            ["--apply-corrections", "s.csv"],
            "--apply-corrections: corrections replace class labels",
        ),
    ],
)
def test_reports_that_need_class_labels_or_a_sheet_are_refused_in_one_line(
    workdir: Path, task: str, option: list[str], message: str
) -> None:
    frames = (
        {"train": _multitask({"a": _cells(4, 0, 0)}), "dev": _multitask({"a": _cells(4, 1, 0)})}
        if task == "multitask"
        else {"train": _decoded([1.0] * 4, [2] * 4), "dev": _decoded(DEV_ACCURACY, DEV_LENGTH)}
    )
    run = _run(workdir, task, frames)
    result = runner.invoke(app, ["analyze-errors", str(run), *option])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (run / "analysis").exists() and not (run / "reports").exists()
