"""A text source's vocabulary from a file (a token list or GloVe-format vectors), not from train."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.data.text import vocabulary_tokens
from dlkit.errors import DataError
from dlkit.recipe.loader import load_recipe


def test_vocabulary_tokens_are_the_first_words_of_each_line(workdir: Path) -> None:
    path = workdir / "vectors.txt"
    path.write_text("the 0.1 0.2\ncat 1 2\n\n[UNK] 0 0\nthe 3 4\ndog 5 6\nowl 7 8\n", encoding="utf-8")
    # blank lines, [UNK] and repeats skipped; max_tokens counts padding and OOV
    assert vocabulary_tokens(path, 20) == ["the", "cat", "dog", "owl"]
    assert vocabulary_tokens(path, 5) == ["the", "cat", "dog"]
    (workdir / "plain.txt").write_text("alpha\nbeta\n", encoding="utf-8")
    assert vocabulary_tokens(workdir / "plain.txt", 10) == ["alpha", "beta"]
    (workdir / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty.txt: the vocabulary file has no tokens"):
        vocabulary_tokens(workdir / "empty.txt", 10)


def test_the_vocabulary_path_is_taken_from_the_recipe_folder(workdir: Path) -> None:
    folder = workdir / "recipes"
    folder.mkdir()
    (folder / "r.yaml").write_text(
        "name: r\n"
        "data:\n"
        "  source: {type: text, path: t.csv, text: text, target: label, vocabulary: data/v.txt}\n"
        "model: {type: avg_embedding, embedding: {}}\n",
        encoding="utf-8",
    )
    recipe = load_recipe(folder / "r.yaml")
    assert recipe.data.source.vocabulary == (folder / "data" / "v.txt").resolve()
