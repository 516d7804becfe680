"""`dlkit diagnose` on every task: known answers from hand-made run directories.

Each run's stored predictions have errors chosen here; diagnose must read exactly those, per
task for a multitask run, and say which error it reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app

runner = CliRunner()


def _run(root: Path, name: str, task: str, frames: dict[str, pd.DataFrame], human: float = 0.0) -> Path:
    path = root / "runs" / name
    (path / "predictions").mkdir(parents=True)
    for split, frame in frames.items():
        frame.to_parquet(path / "predictions" / f"{split}.parquet", index=False)
    (path / "recipe.yaml").write_text(yaml.safe_dump({"name": name, "targets": {"human_error": human}}))
    info = {"run_name": name, "status": "FINISHED", "task": task, "human_error": human}
    (path / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return path


def _wrong_first(n: int, n_wrong: int) -> np.ndarray:
    return np.arange(n) >= n_wrong


def _seq2seq(n: int, n_wrong: int) -> pd.DataFrame:
    correct = _wrong_first(n, n_wrong)
    inputs = [f"w{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "input": inputs,
            "y_true": [s[::-1] for s in inputs],
            "y_pred": [s[::-1] if ok else "?" for s, ok in zip(inputs, correct, strict=True)],
            "correct": correct,
            "token_accuracy": np.where(correct, 1.0, 0.5),
            "length": np.full(n, 2),
        }
    )


def _steps(n: int, n_wrong: int) -> pd.DataFrame:
    correct = _wrong_first(n, n_wrong)
    truth = [["0", "1", "1"] for _ in range(n)]
    pred = [t if ok else ["0", "1", "0"] for t, ok in zip(truth, correct, strict=True)]
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "y_true": truth,
            "y_pred": pred,
            "correct": correct,
            "step_accuracy": np.where(correct, 1.0, 2 / 3),
            "length": np.full(n, 3),
        }
    )


SEQUENCE_TASKS = [
    ("seq2seq", _seq2seq, "error = 1 − exact match"),
    ("sequence_labeling", _steps, "error = 1 − exact match"),
]


@pytest.mark.parametrize(("task", "make", "error_name"), SEQUENCE_TASKS)
def test_sequence_tasks_read_one_minus_exact_match(workdir: Path, task, make, error_name) -> None:
    # train 4 of 40 wrong, train-dev 2 of 20, dev 5 of 20, test 6 of 20
    counts = {"train": (40, 4), "train_dev": (20, 2), "dev": (20, 5), "test": (20, 6)}
    _run(workdir, "s", task, {s: make(n, k) for s, (n, k) in counts.items()})
    result = runner.invoke(app, ["diagnose", "s", "--json", "--no-report"])
    assert result.exit_code == 0, result.output
    (out,) = json.loads(result.stdout)["runs"]
    assert out["task"] == task and out["error_name"] == error_name
    assert {s: out["sets"][s]["error"] for s in counts} == pytest.approx(
        {"train": 0.1, "train_dev": 0.1, "dev": 0.25, "test": 0.3}
    )
    assert out["gaps"]["data_mismatch"]["value"] == pytest.approx(0.15)
    text = runner.invoke(app, ["diagnose", "s", "--no-report"], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert f"Errors of s ({error_name})" in text.output


def test_per_step_labels_say_that_a_sequence_with_a_wrong_step_is_an_error(workdir: Path) -> None:
    _run(workdir, "s", "sequence_labeling", {"train": _steps(10, 1), "dev": _steps(10, 2)})
    (d,) = api.diagnose("s", reports=False)
    assert any("any of its steps is wrong" in n for n in d.notes)


def _multitask(rows: dict[str, list[tuple[int | None, int]]]) -> pd.DataFrame:
    """A multitask predictions frame from (label or None, prediction) per example and task."""
    n = len(next(iter(rows.values())))
    frame = pd.DataFrame({"id": np.arange(n)})
    wrong = np.zeros(n, dtype=bool)
    for task, cells in rows.items():
        truth = [t for t, _ in cells]
        pred = np.array([p for _, p in cells], dtype=np.int8)
        frame[f"y_true_{task}"] = pd.array(truth, dtype="Int8")
        frame[f"proba_{task}"] = np.where(pred == 1, 0.8, 0.2)
        frame[f"pred_{task}"] = pred
        wrong |= np.array([t is not None and t != p for t, p in cells])
    frame["labels"] = sum(frame[f"y_true_{t}"].notna().astype(int) for t in rows)
    frame["correct"] = ~wrong
    frame["loss"] = 0.5
    return frame


def _cells(n_labelled: int, n_wrong: int, n_missing: int) -> list[tuple[int | None, int]]:
    right = [(k % 2, k % 2) for k in range(n_labelled - n_wrong)]
    wrong = [(k % 2, 1 - k % 2) for k in range(n_wrong)]
    return [*wrong, *right, *[(None, 1)] * n_missing]


def test_multitask_gives_one_diagnosis_per_task_on_its_labelled_examples(workdir: Path) -> None:
    # task a: train 3 of 30 labelled wrong, dev 4 of 20; task b: train 0 of 20, dev 1 of 10
    train = _multitask({"a": _cells(30, 3, 10), "b": _cells(20, 0, 20)})
    dev = _multitask({"a": _cells(20, 4, 5), "b": _cells(10, 1, 15)})
    test = _multitask({"a": _cells(10, 5, 0), "b": [(None, 0)] * 10})  # no b label in test
    path = _run(workdir, "m", "multitask", {"train": train, "dev": dev, "test": test}, human=0.01)
    result = runner.invoke(app, ["diagnose", "m", "--json"])
    assert result.exit_code == 0, result.output
    (out,) = json.loads(result.stdout)["runs"]
    assert out["error_name"] == "error = 1 − accuracy, per task on its labelled examples"
    a, b = out["tasks"]["a"], out["tasks"]["b"]
    assert {s: (v["n"], v["error"]) for s, v in a["sets"].items()} == {
        "train": (30, pytest.approx(0.1)),
        "dev": (20, pytest.approx(0.2)),
        "test": (10, pytest.approx(0.5)),
    }
    assert {s: (v["n"], v["error"]) for s, v in b["sets"].items()} == {
        "train": (20, 0.0),
        "dev": (10, pytest.approx(0.1)),
    }
    assert a["gaps"]["avoidable_bias"]["value"] == pytest.approx(0.09)
    assert b["gaps"]["variance"]["value"] == pytest.approx(0.1)
    assert a["human_error"] == b["human_error"] == out["human_error"] == 0.01

    md = (path / "reports" / "diagnose.md").read_text()
    assert "## Task a" in md and "## Task b" in md
    assert "| avoidable bias | train − human | 9.00% |" in md
    html = (path / "reports" / "diagnose.html").read_text()
    assert html.count("<svg") == 2 and "<h2>Task b</h2>" in html

    text = runner.invoke(app, ["diagnose", "m", "--no-report"], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "Task a" in text.output and "Errors of m, task b" in text.output
    assert text.output.count("Verdict:") == 2


def test_multitask_side_by_side_takes_one_column_per_task(workdir: Path) -> None:
    rows = {"a": _cells(30, 3, 0), "b": _cells(30, 6, 0)}
    _run(workdir, "m", "multitask", {"train": _multitask(rows), "dev": _multitask(rows)})
    _run(workdir, "s", "seq2seq", {"train": _seq2seq(30, 3), "dev": _seq2seq(30, 9)})
    result = runner.invoke(app, ["diagnose", "m", "s", "--no-report"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "m: a" in result.output and "m: b" in result.output
    assert "s: Work on" in result.output


def test_multitask_task_without_train_or_dev_labels_is_left_out_with_a_note(workdir: Path) -> None:
    train = _multitask({"a": _cells(20, 2, 0), "b": [(None, 1)] * 20})
    dev = _multitask({"a": _cells(20, 4, 0), "b": _cells(20, 1, 0)})
    _run(workdir, "m", "multitask", {"train": train, "dev": dev})
    (d,) = api.diagnose("m", reports=False)
    assert list(d.per_task) == ["a"]
    assert d.notes == ["task b: not diagnosed: no labelled example in train"]


def test_a_metric_the_task_cannot_read_is_one_line(workdir: Path) -> None:
    path = _run(workdir, "s", "seq2seq", {"train": _seq2seq(10, 1), "dev": _seq2seq(10, 2)})
    info = json.loads((path / "run.json").read_text())
    (path / "run.json").write_text(json.dumps({**info, "optimize": "token_accuracy"}))
    result = runner.invoke(app, ["diagnose", "s"])
    assert result.exit_code == 2
    assert (
        "error: run 's': cannot diagnose metric 'token_accuracy' for seq2seq "
        "(supported: accuracy, error, exact_match, bleu)" in (result.output)
    )


def test_seq2seq_optimizing_bleu_reads_one_minus_sentence_bleu(workdir: Path) -> None:
    frames = {}
    for split, bleus in {"train": [1.0, 1.0, 0.8, 0.6], "dev": [1.0, 0.5, 0.5, 0.0]}.items():
        frame = _seq2seq(4, 0)
        frame["bleu"] = bleus
        frames[split] = frame
    path = _run(workdir, "s", "seq2seq", frames)
    info = json.loads((path / "run.json").read_text())
    (path / "run.json").write_text(json.dumps({**info, "optimize": "bleu"}))
    (d,) = api.diagnose("s", reports=False)
    assert d.error_name == "1 − sentence BLEU (exp-smoothed), per example"
    assert d.result is not None
    errors = {name: s.error for name, s in d.result.sets.items()}
    assert errors == pytest.approx({"train": 0.15, "dev": 0.5})
    assert d.result.sets["dev"].kind == "mean"
