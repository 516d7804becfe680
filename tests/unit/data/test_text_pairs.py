"""text_pairs: tokenising, vocabularies from train only, ids, one-line errors; seq2seq scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data.sources import SOURCES, load_source
from dlkit.data.text_pairs import PairDataset
from dlkit.errors import DataError, RecipeError
from dlkit.tasks.seq2seq import sequence_scores


def _source(folder: Path, rows: list[tuple[str, str]], **options: object) -> object:
    pd.DataFrame(rows, columns=["src", "tgt"]).to_csv(folder / "pairs.csv", index=False)
    return SOURCES.get("text_pairs").spec(path="pairs.csv", input="src", output="tgt", **options)


def test_char_vocabularies_come_from_train_only(workdir: Path) -> None:
    spec = _source(workdir, [("ab", "ba"), ("abb", "bba"), ("zq", "qz")])
    data = load_source(spec, None, workdir)
    assert isinstance(data, PairDataset) and data.task == "seq2seq"
    assert data.input_shape == (3,)
    data.prepare(np.array([0, 1]))  # "zq" is not in train
    assert data.vocabulary == ["", "[UNK]", "b", "a"]  # b 3 times, a twice
    assert data.target_vocabulary == ["", "<s>", "</s>", "[UNK]", "b", "a"]
    assert data.source_vocab_size == 4 and data.target_vocab_size == 6
    np.testing.assert_array_equal(data.x, [[3, 2, 0], [3, 2, 2], [1, 1, 0]])
    np.testing.assert_array_equal(data.targets, [[4, 5, 0], [4, 4, 5], [3, 3, 0]])


def test_word_level_and_max_tokens(workdir: Path) -> None:
    rows = [("the cat sat", "sat cat the"), ("the dog", "dog the")]
    data = load_source(_source(workdir, rows, level="word", max_tokens=5), None, workdir)
    data.prepare(np.array([0, 1]))
    assert data.vocabulary == ["", "[UNK]", "the", "cat", "dog"]  # 5 tokens at most
    np.testing.assert_array_equal(data.x, [[2, 3, 1], [2, 4, 0]])


def test_missing_column_is_one_line(workdir: Path) -> None:
    pd.DataFrame({"src": ["ab"], "tgt": ["ba"]}).to_csv(workdir / "pairs.csv", index=False)
    spec = SOURCES.get("text_pairs").spec(path="pairs.csv", input="src", output="target")
    with pytest.raises(DataError, match=r"pairs.csv: .*output column 'target'") as info:
        load_source(spec, None, workdir)
    assert "\n" not in str(info.value)


def test_bad_rows_are_named(workdir: Path) -> None:
    with pytest.raises(DataError, match=r"output column 'tgt' has 1 missing value\(s\), first at line 3"):
        load_source(_source(workdir, [("ab", "ba"), ("c", None)]), None, workdir)
    with pytest.raises(DataError, match=r"at line 3 has 3 tokens \(.*max_output_length is 2\)"):
        load_source(_source(workdir, [("ab", "ba"), ("abc", "cba")], max_output_length=2), None, workdir)
    with pytest.raises(RecipeError, match=r"data.task: a text_pairs source is seq2seq \(got binary\)"):
        load_source(_source(workdir, [("ab", "ba")]), "binary", workdir)


def test_sequence_scores_known_answers() -> None:
    predicted = [["a", "b"], ["a", "c", "x"], []]
    truth = [["a", "b"], ["a", "b"], ["d"]]
    scores = sequence_scores(predicted, truth)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["error"] == pytest.approx(2 / 3)
    # matches: 2 + 1 + 0 over positions max(len): 2 + 3 + 1
    assert scores["token_accuracy"] == pytest.approx(3 / 6)
