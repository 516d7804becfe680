"""`dlkit embed`: train on a generated corpus with planted relations (vectors, plot and MLflow
record), then neighbors, analogy, evaluate and plot on hand-made vectors, and bad input refused
in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.embeddings.planted import planted_analogies, planted_corpus

runner = CliRunner()

# queen = woman - man + king; apple is nearer "queen" than "man" is
HAND = "man 1 0 0\nwoman 0 1 0\nking 0 0 1\nqueen 0 1 1\napple 1 0 1\n"


@pytest.mark.slow
def test_embed_train_writes_vectors_and_a_plot_and_logs_them(workdir: Path, tracking_uri: str) -> None:
    (workdir / "corpus.txt").write_text("\n".join(" ".join(s) for s in planted_corpus(300)), encoding="utf-8")
    (workdir / "questions.txt").write_text("\n".join(planted_analogies()), encoding="utf-8")
    args = ["embed", "train", "corpus.txt", "--dim", "8", "--epochs", "2", "--window", "3"]
    result = runner.invoke(app, [*args, "--analogies", "questions.txt", "--out", "out/v.txt", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["n_sentences"] == 300 and document["options"]["method"] == "skipgram"
    assert len(document["losses"]) == 2
    lines = (workdir / "out" / "v.txt").read_text().splitlines()
    assert len(lines) == document["n_words"] and all(len(line.split(" ")) == 9 for line in lines)
    assert lines[0].split(" ")[0] in ("the", "of", "and", "is", "in", "to")  # most frequent first
    assert (workdir / "out" / "v.png").read_bytes()[:4] == b"\x89PNG"
    analogies = document["analogies"]
    assert analogies["n_questions"] == 270 and analogies["coverage"] == 1.0

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    run = client.get_run(document["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "embed-skipgram-corpus"
    assert client.get_experiment(run.info.experiment_id).name == "embeddings"
    assert run.data.params["method"] == "skipgram" and run.data.params["dim"] == "8"
    assert run.data.params["negatives"] == "5" and run.data.params["n_words"] == str(document["n_words"])
    losses = sorted(client.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)
    assert [m.step for m in losses] == [1, 2]
    assert [m.value for m in losses] == pytest.approx(document["losses"])
    assert run.data.metrics["analogy_accuracy"] == pytest.approx(analogies["accuracy"])
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"v.txt", "v.png"}


def test_neighbors_analogy_evaluate_and_plot(workdir: Path) -> None:
    (workdir / "v.txt").write_text(HAND, encoding="utf-8")
    near = runner.invoke(app, ["embed", "neighbors", "v.txt", "Queen", "-k", "2", "--json"])
    assert near.exit_code == 0, near.output
    assert [n["word"] for n in json.loads(near.stdout)["neighbors"]] == ["woman", "king"]
    solved = runner.invoke(app, ["embed", "analogy", "v.txt", "man", "woman", "king", "--json"])
    answers = json.loads(solved.stdout)["neighbors"]
    assert [a["word"] for a in answers] == ["queen", "apple"]
    assert answers[0]["similarity"] == pytest.approx(2 / 6**0.5, rel=1e-6)
    table = runner.invoke(app, ["embed", "analogy", "v.txt", "man", "woman", "king"])
    assert "man : woman :: king : ?" in table.output and "queen" in table.output

    (workdir / "q.txt").write_text(": royal\nman woman king queen\nman woman apple zebra\n", encoding="utf-8")
    (workdir / "s.txt").write_text("queen woman 3\nqueen apple 2\nqueen man 1\n", encoding="utf-8")
    scored = runner.invoke(
        app, ["embed", "evaluate", "v.txt", "--analogies", "q.txt", "--similarity", "s.txt", "--json"]
    )
    assert scored.exit_code == 0, scored.output
    document = json.loads(scored.stdout)
    assert document["analogies"]["accuracy"] == 1.0 and document["analogies"]["skipped"] == 1
    assert document["analogies"]["coverage"] == 0.5
    assert document["similarity"]["spearman"] == pytest.approx(1.0)
    shown = runner.invoke(app, ["embed", "evaluate", "v.txt", "--analogies", "q.txt"])
    assert "Coverage 50.0%: 1 of 2 questions skipped" in shown.output

    drawn = runner.invoke(
        app, ["embed", "plot", "v.txt", "--words", "man,woman", "--words", "king", "--json"]
    )
    assert drawn.exit_code == 0, drawn.output
    assert [w["word"] for w in json.loads(drawn.stdout)["words"]] == ["man", "woman", "king"]
    assert (workdir / "vectors.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["train", "missing.txt", "--no-track"], 1, "error: missing.txt: corpus file not found"),
        (
            ["train", "c.csv", "--no-track"],
            2,
            "error: --column: c.csv has 2 columns; name the one with the text",
        ),
        (["train", "v.txt", "--method", "cbow"], 2, "error: --method: expected one of skipgram, glove"),
        (["neighbors", "v.txt", "zebra"], 1, "error: v.txt: 'zebra' is not in the vocabulary (5 words)"),
        (["neighbors", "bad.txt", "man"], 1, "error: bad.txt: line 2: expected 3 numbers after the token"),
        (
            ["evaluate", "v.txt"],
            2,
            "error: dlkit embed evaluate: give --analogies FILE and/or --similarity FILE",
        ),
        (["plot", "v.txt", "--words", "man,dog"], 1, "error: v.txt: 'dog' not in the vocabulary (5 words)"),
    ],
)
def test_bad_input_is_one_line(workdir: Path, argv: list[str], code: int, message: str) -> None:
    (workdir / "v.txt").write_text(HAND, encoding="utf-8")
    (workdir / "bad.txt").write_text("man 1 0 0\nwoman 0 1\n", encoding="utf-8")
    (workdir / "c.csv").write_text("id,text\n1,a b\n", encoding="utf-8")
    result = runner.invoke(app, ["embed", *argv])
    assert result.exit_code == code, result.output
    assert result.output.startswith(message), result.output
    assert "Traceback" not in result.output
