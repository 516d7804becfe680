"""Emojify (the gallery's emojify-avg.yaml): pretrained word vectors generalise to words that no
training sentence has. Dev sentences use only such words; with the shipped vectors, frozen, the
averaged-embedding model classifies them well, with random vectors it is near chance (20%)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlkit import api
from dlkit.gallery import gallery_recipe
from dlkit.models._embedding import read_vectors

RECIPE = gallery_recipe("emojify-avg").path
VECTORS = RECIPE.parent / "data" / "emojify-vectors.txt"


def _train(workdir: Path, *overrides: str) -> Any:
    recipe = api.load_recipe(RECIPE, [*overrides, f"tracking.runs_dir={workdir / 'runs'}"])
    return api.train(recipe, track=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The recipe as shipped (frozen pretrained vectors), random vectors, and fine-tuned vectors."""
    workdir = tmp_path_factory.mktemp("emojify")
    return {
        "frozen": _train(workdir),
        "random": _train(workdir, "model.embedding.vectors=null", "model.embedding.output_dim=16"),
        "tuned": _train(workdir, "model.embedding.trainable=true", "train.epochs=5"),
    }


def _embedding(result: Any) -> tuple[np.ndarray, list[str]]:
    from dlkit.models import load_model

    model = load_model(result.run_dir / "model" / "model.keras")
    vocabulary = (result.run_dir / "split" / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    return np.asarray(model.get_layer("embedding").get_weights()[0]), vocabulary


@pytest.mark.slow
def test_dev_words_are_absent_from_train_and_the_vocabulary_still_has_them() -> None:
    outcome = api.split(api.load_recipe(RECIPE))
    texts, split = outcome.data.texts, outcome.split
    assert texts is not None
    words = {name: {w for t in texts[split.indices(name)] for w in t.split()} for name in ("train", "dev")}
    fillers = words["train"] & words["dev"]
    assert fillers == {
        "i",
        "you",
        "we",
        "the",
        "a",
        "is",
        "so",
        "my",
        "this",
        "really",
        "today",
        "what",
        "it",
        "feel",
    }
    for text in texts[split.indices("dev")]:
        assert set(text.split()) - fillers, text  # every dev sentence has a word no train sentence has
    vectors, _ = read_vectors(VECTORS, None)
    assert set(outcome.data.vocabulary[2:]) == set(vectors)  # ids for every word of the vectors file
    ids = outcome.data.x[split.indices("dev")]
    assert (ids != 1).all()  # no dev word is out of the vocabulary


@pytest.mark.slow
def test_pretrained_vectors_generalise_to_unseen_words(runs: dict[str, Any]) -> None:
    frozen, random = runs["frozen"].metrics, runs["random"].metrics
    assert frozen["train"]["accuracy"] >= 0.95
    assert frozen["dev"]["accuracy"] >= 0.85 and frozen["test"]["accuracy"] >= 0.85
    # random vectors fit train but know nothing of the dev words: near chance (0.2)
    assert random["dev"]["accuracy"] <= 0.45
    assert frozen["dev"]["accuracy"] - random["dev"]["accuracy"] >= 0.4


@pytest.mark.slow
def test_frozen_vectors_stay_and_fine_tuning_moves_only_the_training_words(runs: dict[str, Any]) -> None:
    vectors, _ = read_vectors(VECTORS, None)
    frozen, vocabulary = _embedding(runs["frozen"])
    tuned, tuned_vocabulary = _embedding(runs["tuned"])
    assert tuned_vocabulary == vocabulary
    row = {w: i for i, w in enumerate(vocabulary)}
    for word, vector in vectors.items():
        np.testing.assert_array_equal(frozen[row[word]], vector)
    assert not np.allclose(tuned[row["love"]], vectors["love"])  # a training word moved
    np.testing.assert_array_equal(tuned[row["hug"]], vectors["hug"])  # a dev-only word got no gradient
