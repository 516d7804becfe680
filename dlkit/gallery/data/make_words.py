"""Regenerate the gallery's word-vector data files (seeded: the same bytes every time).

Word vectors with known structure, built directly (no corpus, no download):

- ``emojify-vectors.txt`` (16 numbers a word, GloVe text format): five topics (heart, baseball,
  smile, disappointed, food), each with a random unit centroid; a topic word is its centroid
  plus Gaussian noise (σ = 0.25 a coordinate), so synonyms are close. Filler words ("i", "the",
  "so", ...) are small random vectors near no topic.
- ``emojify.csv`` (500 rows): short sentences ``text`` -> ``label`` (the topic of its one or two
  topic words, among two to five filler words; Bayes error 0) and ``part``: 0 for the 300
  training sentences, 1 and 2 for 100 dev and 100 test sentences. Each topic has 12 words: the
  training sentences use only 6 of them, dev and test only the other 6, so a dev or test word
  never appears in a training sentence; only the pretrained vectors say what it means.
- ``gender-vectors.txt`` (12 numbers a word): the shipped gender pairs
  (``gender-definitional.txt``, ``gender-equalize.txt``) and 24 occupation and neutral words
  with a planted bias: coordinate 0 is the gender axis, each pair sits at ``±t`` on it
  (t in [0.5, 0.8]) around a shared meaning (plus noise σ = 0.1 a coordinate for each word),
  each neutral word gets a known offset on it (``receptionist`` +0.4, ``engineer`` −0.4, ...).
  ``dlkit embed debias`` on it finds (nearly) coordinate 0 and removes the offsets.

Run: python recipes/data/make_words.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent

TOPICS: dict[str, tuple[list[str], list[str]]] = {
    # (words of training sentences, words only of dev and test sentences)
    "heart": (
        ["love", "adore", "cherish", "darling", "sweetheart", "romance"],
        ["hug", "kiss", "beloved", "affection", "valentine", "crush"],
    ),
    "baseball": (
        ["baseball", "ball", "game", "pitch", "team", "inning"],
        ["bat", "homerun", "stadium", "pitcher", "league", "score"],
    ),
    "smile": (
        ["happy", "glad", "joy", "great", "fun", "delighted"],
        ["cheerful", "awesome", "wonderful", "thrilled", "laugh", "yay"],
    ),
    "disappointed": (
        ["sad", "upset", "unhappy", "miserable", "gloomy", "lonely"],
        ["depressed", "heartbroken", "sorrow", "awful", "terrible", "regret"],
    ),
    "food": (
        ["food", "eat", "dinner", "lunch", "pizza", "hungry"],
        ["snack", "burger", "pasta", "breakfast", "delicious", "meal"],
    ),
}
FILLER = ["i", "you", "we", "the", "a", "is", "so", "my", "this", "really", "today", "what", "it", "feel"]
DIM = 16


def emojify_vectors(seed: int = 0) -> dict[str, np.ndarray]:
    """Topic words near their topic's centroid, filler words near nothing."""
    rng = np.random.default_rng(seed)
    vectors: dict[str, np.ndarray] = {}
    for seen, unseen in TOPICS.values():
        centroid = rng.normal(size=DIM)
        centroid /= np.linalg.norm(centroid)
        for word in seen + unseen:
            vectors[word] = centroid + rng.normal(0.0, 0.25, size=DIM)
    for word in FILLER:
        vectors[word] = rng.normal(0.0, 0.2, size=DIM)
    return vectors


def emojify(seed: int = 0, n_train: int = 300, n_dev: int = 100, n_test: int = 100) -> pd.DataFrame:
    """Sentences of filler and topic words, labelled by topic; train and dev/test words differ."""
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    rows = []
    for part, n in ((0, n_train), (1, n_dev), (2, n_test)):
        for i in range(n):
            topic = topics[i % len(topics)]
            pool = TOPICS[topic][0] if part == 0 else TOPICS[topic][1]
            words = list(rng.choice(FILLER, size=int(rng.integers(2, 6))))
            for word in rng.choice(pool, size=int(rng.integers(1, 3)), replace=False):
                words.insert(int(rng.integers(0, len(words) + 1)), str(word))
            rows.append({"text": " ".join(words), "label": topic, "part": part})
    return pd.DataFrame(rows)


NEUTRAL_BIAS = {
    "receptionist": 0.4,
    "nurse": 0.35,
    "homemaker": 0.45,
    "librarian": 0.2,
    "dancer": 0.25,
    "stylist": 0.3,
    "engineer": -0.4,
    "programmer": -0.35,
    "architect": -0.25,
    "captain": -0.3,
    "surgeon": -0.2,
    "pilot": -0.3,
    "doctor": -0.1,
    "teacher": 0.1,
    "scientist": -0.15,
    "singer": 0.05,
    "babysitter": 0.4,
    "mechanic": -0.45,
    "table": 0.0,
    "river": 0.0,
    "computer": -0.05,
    "flower": 0.1,
    "music": 0.0,
    "science": -0.1,
}
GENDER_DIM = 12


def _pairs(name: str) -> list[tuple[str, str]]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [(w[0], w[1]) for w in (line.split() for line in lines) if w and not w[0].startswith("#")]


def gender_vectors(seed: int = 0) -> dict[str, np.ndarray]:
    """Pairs at ±t on coordinate 0 around a shared meaning; neutral words with a known offset."""
    rng = np.random.default_rng(seed)
    vectors: dict[str, np.ndarray] = {}
    for female, male in dict.fromkeys(_pairs("gender-definitional.txt") + _pairs("gender-equalize.txt")):
        if female in vectors:
            continue
        meaning = np.concatenate([[0.0], rng.normal(0.0, 0.3, size=GENDER_DIM - 1)])
        t = rng.uniform(0.5, 0.8)
        # each word its own small departure from the pair's meaning: the pairs are not quite
        # symmetric nor exactly along coordinate 0, until debiasing equalises them
        vectors[female] = meaning + t * np.eye(GENDER_DIM)[0] + rng.normal(0.0, 0.1, size=GENDER_DIM)
        vectors[male] = meaning - t * np.eye(GENDER_DIM)[0] + rng.normal(0.0, 0.1, size=GENDER_DIM)
    for word, bias in NEUTRAL_BIAS.items():
        vectors[word] = np.concatenate([[bias], rng.normal(0.0, 0.3, size=GENDER_DIM - 1)])
    return vectors


def write_vectors(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """GloVe text format, 5 decimals (as GloVe's own files)."""
    lines = [word + " " + " ".join(f"{v:.5f}" for v in vec) for word, vec in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    write_vectors(HERE / "emojify-vectors.txt", emojify_vectors())
    emojify().to_csv(HERE / "emojify.csv", index=False)
    write_vectors(HERE / "gender-vectors.txt", gender_vectors())


if __name__ == "__main__":
    main()
