"""BLEU (Papineni et al., 2002) of token sequences against one reference each. Pure Python.

Modified n-gram precision p_n (n = 1..4): a candidate n-gram counts at most as often as it
occurs in the reference ("clipped"), summed over the sentences and divided by the candidate
n-grams. The brevity penalty BP = exp(1 - r/c) when the candidates' total length c is below
the references' r (1 otherwise). BLEU = BP * exp(mean log p_n), between 0 and 1.

- :func:`corpus_bleu` pools the counts over every sentence first and does not smooth: a set
  without a single matching 4-gram scores 0, as in the paper (and sacrebleu's
  ``smooth_method="none"``).
- :func:`sentence_bleu` scores one sentence, where a missing 4-gram is common, with the
  ``exp`` smoothing (Chen and Cherry, 2014, method 3; sacrebleu's sentence default): the k-th
  precision with no match counts as 1 / (2^k * candidate n-grams); n-gram orders longer than
  the candidate are left out of the mean (the "effective order").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

MAX_ORDER = 4


@dataclass(frozen=True)
class BleuCounts:
    """The sufficient statistics of BLEU: clipped matches and candidate n-grams per order, lengths.

    Attributes:
        matches: clipped n-gram matches, one per order 1..4.
        totals: candidate n-grams, one per order.
        candidate_length: tokens of the candidates.
        reference_length: tokens of the references.
    """

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    candidate_length: int
    reference_length: int

    def __add__(self, other: BleuCounts) -> BleuCounts:
        return BleuCounts(
            tuple(a + b for a, b in zip(self.matches, other.matches, strict=True)),
            tuple(a + b for a, b in zip(self.totals, other.totals, strict=True)),
            self.candidate_length + other.candidate_length,
            self.reference_length + other.reference_length,
        )


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_counts(candidate: Sequence[str], reference: Sequence[str], max_order: int = MAX_ORDER) -> BleuCounts:
    """Clipped n-gram matches and candidate n-gram counts of one sentence."""
    matches, totals = [], []
    for n in range(1, max_order + 1):
        cand, ref = _ngrams(candidate, n), _ngrams(reference, n)
        matches.append(sum(min(count, ref[gram]) for gram, count in cand.items()))
        totals.append(max(len(candidate) - n + 1, 0))
    return BleuCounts(tuple(matches), tuple(totals), len(candidate), len(reference))


def brevity_penalty(candidate_length: int, reference_length: int) -> float:
    """exp(1 - r/c) for candidates shorter than the references, else 1 (0 for no candidate token)."""
    if candidate_length >= reference_length:
        return 1.0
    if candidate_length == 0:
        return 0.0
    return math.exp(1 - reference_length / candidate_length)


def bleu_from_counts(counts: BleuCounts, smooth: bool = False) -> float:
    """BLEU in [0, 1] from pooled counts; ``smooth``: the ``exp`` smoothing and effective order."""
    if counts.candidate_length == 0:
        return 0.0
    logs = []
    halvings = 1.0
    for match, total in zip(counts.matches, counts.totals, strict=True):
        if total == 0:
            if smooth:
                break  # the effective order: no n-gram this long in the candidate
            return 0.0
        if match == 0:
            if not smooth:
                return 0.0
            halvings *= 2
            logs.append(math.log(1 / (halvings * total)))
        else:
            logs.append(math.log(match / total))
    if not logs:
        return 0.0
    return brevity_penalty(counts.candidate_length, counts.reference_length) * math.exp(sum(logs) / len(logs))


def corpus_bleu(candidates: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU in [0, 1] of tokenised candidates, one reference each (no smoothing).

    Raises:
        ValueError: not as many references as candidates.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    total = BleuCounts((0,) * MAX_ORDER, (0,) * MAX_ORDER, 0, 0)
    for candidate, reference in zip(candidates, references, strict=True):
        total = total + bleu_counts(candidate, reference)
    return bleu_from_counts(total)


def sentence_bleu(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """One sentence's BLEU in [0, 1], with ``exp`` smoothing and the effective order."""
    return bleu_from_counts(bleu_counts(candidate, reference), smooth=True)
