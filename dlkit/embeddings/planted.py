"""A corpus with planted relations, and the analogy and similarity questions it answers.

Three relations of ten pairs each: countries and their capitals, male and female words,
singular and plural nouns. Every word of a pair shares the pair's own context words (``france``
and ``paris`` both appear with ``french``), and every word of one side of a relation shares that
side's context words (every capital appears with ``city`` and ``mayor``, every plural with
``many``). A word's contexts are thus "its pair + its side", so its vector is close to the sum of
a pair part and a side part, and ``paris − france + italy`` lands on ``rome``: the analogies of
the questions file hold by construction. Frequent filler words (``the``, ``of``, ...) carry no
information; subsampling should drop most of them.

Similarity scores are known by construction too: 2 for the two words of one pair, 1 for two words
of the same side of a relation, 0 for words of different relations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Relation:
    """Pairs ``(x, y)`` with each pair's context words, and each side's context words."""

    name: str
    pairs: list[tuple[str, str, tuple[str, ...]]]
    x_context: tuple[str, ...]
    y_context: tuple[str, ...]


RELATIONS = [
    Relation(
        "country-capital",
        [
            ("france", "paris", ("french", "seine")),
            ("italy", "rome", ("italian", "tiber")),
            ("spain", "madrid", ("spanish", "iberia")),
            ("germany", "berlin", ("german", "spree")),
            ("japan", "tokyo", ("japanese", "honshu")),
            ("egypt", "cairo", ("egyptian", "nile")),
            ("greece", "athens", ("greek", "aegean")),
            ("poland", "warsaw", ("polish", "vistula")),
            ("kenya", "nairobi", ("kenyan", "savanna")),
            ("peru", "lima", ("peruvian", "andes")),
        ],
        ("country", "nation", "border", "president"),
        ("city", "capital", "mayor", "streets"),
    ),
    Relation(
        "gender",
        [
            ("king", "queen", ("crown", "throne")),
            ("man", "woman", ("adult", "grown")),
            ("boy", "girl", ("child", "playground")),
            ("prince", "princess", ("castle", "heir")),
            ("father", "mother", ("parent", "home")),
            ("son", "daughter", ("offspring", "born")),
            ("brother", "sister", ("sibling", "twin")),
            ("uncle", "aunt", ("relative", "visits")),
            ("husband", "wife", ("married", "wedding")),
            ("nephew", "niece", ("cousin", "family")),
        ],
        ("he", "him", "his", "male"),
        ("she", "her", "hers", "female"),
    ),
    Relation(
        "plural-nouns",
        [
            ("dog", "dogs", ("barks", "fetch")),
            ("cat", "cats", ("meows", "purrs")),
            ("car", "cars", ("drives", "wheels")),
            ("tree", "trees", ("leaves", "branches")),
            ("house", "houses", ("roof", "walls")),
            ("bird", "birds", ("wings", "flies")),
            ("apple", "apples", ("fruit", "eats")),
            ("book", "books", ("reads", "pages")),
            ("river", "rivers", ("flows", "water")),
            ("stone", "stones", ("rock", "hard")),
        ],
        ("one", "single", "a", "each"),
        ("many", "several", "two", "all"),
    ),
]

FILLER = ("the", "of", "and", "is", "in", "to")


def planted_corpus(n_sentences: int = 5000, seed: int = 0) -> list[list[str]]:
    """Sentences of 7 to 9 words: one relation word, two of its pair's context words, two of its
    side's context words and two to four fillers, in random order (seeded)."""
    rng = np.random.default_rng(seed)
    sentences: list[list[str]] = []
    for _ in range(n_sentences):
        relation = RELATIONS[int(rng.integers(len(RELATIONS)))]
        x, y, pair_context = relation.pairs[int(rng.integers(len(relation.pairs)))]
        is_y = bool(rng.integers(2))
        side = relation.y_context if is_y else relation.x_context
        words = [y if is_y else x]
        words += [str(w) for w in rng.choice(pair_context, size=2)]
        words += [str(w) for w in rng.choice(side, size=2, replace=False)]
        words += [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 5)))]
        sentences.append([words[i] for i in rng.permutation(len(words))])
    return sentences


def planted_analogies() -> list[str]:
    """Lines of a questions file: per relation a ``: name`` line, then ``x_i y_i x_j y_j`` for
    every ordered pair of different pairs (90 per relation)."""
    lines: list[str] = []
    for relation in RELATIONS:
        lines.append(f": {relation.name}")
        for x1, y1, _ in relation.pairs:
            for x2, y2, _ in relation.pairs:
                if x1 != x2:
                    lines.append(f"{x1} {y1} {x2} {y2}")
    return lines


def planted_similarities() -> list[str]:
    """Lines ``w1 w2 score``: every pair (2), and seeded samples of same-side (1) and
    cross-relation (0) word pairs, 30 of each."""
    rng = np.random.default_rng(0)
    lines = [f"{x} {y} 2" for r in RELATIONS for x, y, _ in r.pairs]
    sides = [[p[k] for p in r.pairs] for r in RELATIONS for k in (0, 1)]
    for _ in range(30):
        side = sides[int(rng.integers(len(sides)))]
        a, b = rng.choice(len(side), size=2, replace=False)
        lines.append(f"{side[a]} {side[b]} 1")
    for _ in range(30):
        r1, r2 = rng.choice(len(RELATIONS), size=2, replace=False)
        a = RELATIONS[r1].pairs[int(rng.integers(10))][int(rng.integers(2))]
        b = RELATIONS[r2].pairs[int(rng.integers(10))][int(rng.integers(2))]
        lines.append(f"{a} {b} 0")
    return lines
