"""BLEU against sacrebleu on the same tokens, and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlkit.analysis.bleu import bleu_counts, brevity_penalty, corpus_bleu, sentence_bleu

sacrebleu = pytest.importorskip("sacrebleu")


def _sentences() -> tuple[list[list[str]], list[list[str]]]:
    rng = np.random.default_rng(3)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "big", "red", "ran"]
    references, candidates = [], []
    for _ in range(40):
        reference = [str(w) for w in rng.choice(words, size=int(rng.integers(2, 10)))]
        candidate = [w if rng.random() < 0.75 else str(rng.choice(words)) for w in reference]
        if rng.random() < 0.3:
            candidate = candidate[:-1]  # some shorter: the brevity penalty applies
        references.append(reference)
        candidates.append(candidate)
    return candidates, references


def test_corpus_bleu_equals_sacrebleu_without_smoothing() -> None:
    candidates, references = _sentences()
    expected = sacrebleu.corpus_bleu(
        [" ".join(c) for c in candidates],
        [[" ".join(r) for r in references]],
        tokenize="none",
        smooth_method="none",
    )
    assert 0 < expected.score < 100
    assert corpus_bleu(candidates, references) * 100 == pytest.approx(expected.score, abs=1e-9)


def test_sentence_bleu_equals_sacrebleu_exp_smoothing() -> None:
    candidates, references = _sentences()
    for candidate, reference in zip(candidates, references, strict=True):
        expected = sacrebleu.sentence_bleu(" ".join(candidate), [" ".join(reference)], tokenize="none")
        assert sentence_bleu(candidate, reference) * 100 == pytest.approx(expected.score, abs=1e-9)


def test_hand_worked_values() -> None:
    # "the cat the cat" against "the cat sat": unigram matches clip at the reference's counts
    counts = bleu_counts(["the", "cat", "the", "cat"], ["the", "cat", "sat"])
    assert counts.matches == (2, 1, 0, 0) and counts.totals == (4, 3, 2, 1)
    assert brevity_penalty(2, 3) == pytest.approx(math.exp(1 - 3 / 2))
    assert brevity_penalty(4, 3) == 1.0
    # identical sentences: 1; no 4-gram match in the corpus: 0 without smoothing
    assert corpus_bleu([list("abcde")], [list("abcde")]) == 1.0
    assert corpus_bleu([list("abcd")], [list("abce")]) == 0.0
    # a perfect 4-gram-free candidate of 3 tokens: the effective order keeps it at 1
    assert sentence_bleu(list("abc"), list("abc")) == pytest.approx(1.0)
    assert sentence_bleu([], list("abc")) == 0.0
    with pytest.raises(ValueError, match="2 candidates but 1 references"):
        corpus_bleu([["a"], ["b"]], [["a"]])
