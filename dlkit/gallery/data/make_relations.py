"""Regenerate the word-embedding corpus with planted relations and its questions (seeded).

- ``relations.txt``: 6,000 sentences, one a line (dlkit.embeddings.planted: each relation word
  with its pair's and its side's context words and fillers);
- ``relations-questions.txt``: 270 analogies in questions-words.txt's layout (three sections:
  country-capital, gender, plural-nouns);
- ``relations-similarity.txt``: 90 word pairs scored 2 (one pair), 1 (one side) or 0.

Run: python recipes/data/make_relations.py
"""

from __future__ import annotations

from pathlib import Path

from dlkit.embeddings.planted import planted_analogies, planted_corpus, planted_similarities

HERE = Path(__file__).parent

if __name__ == "__main__":
    corpus = planted_corpus(6000, seed=0)
    (HERE / "relations.txt").write_text("\n".join(" ".join(s) for s in corpus) + "\n", encoding="utf-8")
    (HERE / "relations-questions.txt").write_text("\n".join(planted_analogies()) + "\n", encoding="utf-8")
    (HERE / "relations-similarity.txt").write_text("\n".join(planted_similarities()) + "\n", encoding="utf-8")
