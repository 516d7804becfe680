"""Debiasing word vectors (Bolukbasi et al. 2016, "hard debiasing", as the course teaches it).

All vectors are first normalised to unit length (Bolukbasi's setting; the course's equalise
formula assumes it). Then:

- the **bias direction** ``g`` is the first principal component of the definitional pairs'
  centred vectors: for each pair ``(a, b)`` with mean ``μ``, the rows ``a − μ`` and ``b − μ``
  (the SVD of those rows, no further centring), oriented so that each pair's first word lies
  on its positive side on average. The course's simpler ``g = e_woman − e_man`` of the first
  pair is reported beside it (:attr:`DebiasResult.pair_cosine`: how well one pair agrees);
- **neutralise** removes a word's component along ``g``: ``e − (e·g / ‖g‖²) g`` (projection
  zero afterwards; the vector is not renormalised, as in the course);
- **equalise** moves each pair symmetric about the axis orthogonal to ``g`` (the course's
  formulas)::

      μ = (e_w1 + e_w2) / 2,  μ_B = (μ·g / ‖g‖²) g,  μ_⊥ = μ − μ_B
      e_wiB = (e_wi·g / ‖g‖²) g
      corrected_e_wiB = sqrt(|1 − ‖μ_⊥‖²|) (e_wiB − μ_B) / ‖(e_wi − μ_⊥) − μ_B‖
      e_wi ← corrected_e_wiB + μ_⊥

  so both words have the same orthogonal part μ_⊥ and opposite projections on ``g``: every
  neutralised word is then equally far from the two. (Bolukbasi divides by ‖e_wiB − μ_B‖,
  which makes the pair unit-length; the course's divisor is at least as large.)

The projection reported for each word is ``e·ĝ`` with ``ĝ = g / ‖g‖``, the cosine with the bias
direction for a unit vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlkit.errors import DataError

Pair = tuple[str, str]

ROLES = ("definitional", "equalized", "neutralized", "kept")
"""What happened to a word: in a definitional pair only (kept, normalised), equalised,
neutralised, or kept as it was (normalised) because neither was asked."""


def _float(values: np.ndarray) -> np.ndarray:
    # float32 stays float32: a large vocabulary (millions of words) in float64 doubles the memory
    a = np.asarray(values)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm; an all-zero row stays zero (float32 stays float32)."""
    m = _float(matrix)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def bias_direction(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """The first principal component of definitional pairs, and the share of variance it explains.

    Args:
        first: `(pairs, d)` the first word of each pair (its side is the positive one).
        second: `(pairs, d)` the second word of each pair.

    Returns:
        The unit direction `(d,)` and the first component's share of the centred rows' variance
        (Bolukbasi: near 1 when the pairs agree on one direction).

    Raises:
        ValueError: no pairs, or pairs whose two words coincide.
    """
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape or len(a) == 0:
        raise ValueError("bias_direction needs two (pairs, d) arrays of the same shape, at least one pair")
    mean = (a + b) / 2
    rows = np.concatenate([a - mean, b - mean])
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    if s[0] <= 0:
        raise ValueError("the definitional pairs have no difference: every pair's two vectors are equal")
    direction = vt[0]
    if np.sum((a - b) @ direction) < 0:
        direction = -direction
    return direction, float(s[0] ** 2 / np.sum(s**2))


def projection(vectors: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``e·ĝ`` of each row (or of one vector), ``ĝ`` the unit bias direction."""
    e = _float(vectors)
    g = np.asarray(g, dtype=np.float64)
    return e @ (g / np.linalg.norm(g)).astype(e.dtype)


def neutralize(vectors: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``e − (e·g / ‖g‖²) g``: the component along ``g`` removed, of one vector `(d,)` or rows `(n, d)`."""
    e = _float(vectors)
    g = np.asarray(g, dtype=np.float64)
    g = g.astype(e.dtype)
    return e - np.multiply.outer(e @ g / (g @ g), g)


def equalize(e_w1: np.ndarray, e_w2: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The course's equalise step on two unit vectors (formulas in the module docstring).

    Returns:
        The two new vectors: the same part orthogonal to ``g``, opposite projections on it.
    """
    e1 = np.asarray(e_w1, dtype=np.float64)
    e2 = np.asarray(e_w2, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    gg = g @ g
    mu = (e1 + e2) / 2
    mu_b = (mu @ g / gg) * g
    mu_orth = mu - mu_b
    scale = np.sqrt(abs(1.0 - mu_orth @ mu_orth))
    out = []
    for e in (e1, e2):
        e_b = (e @ g / gg) * g
        norm = np.linalg.norm(e - mu_orth - mu_b)
        corrected = scale * (e_b - mu_b) / norm if norm > 0 else np.zeros_like(e)
        out.append(corrected + mu_orth)
    return out[0], out[1]


@dataclass
class DebiasResult:
    """Debiased vectors and what changed.

    Attributes:
        words: every word, in the input's order.
        vectors: `(words, d)` the debiased vectors (every one normalised to unit length first).
        direction: `(d,)` the unit bias direction.
        explained: the share of the definitional rows' variance along it.
        n_pairs: how many definitional pairs.
        pair: the first definitional pair, whose simple difference the course uses as ``g``.
        pair_cosine: cosine between that difference and :attr:`direction`.
        table: one row per word: ``word``, ``role`` (:data:`ROLES`), ``before`` and ``after``
            (projections on the direction), ``pair`` (the other word of its equalise pair).
    """

    words: list[str]
    vectors: np.ndarray
    direction: np.ndarray
    explained: float
    n_pairs: int
    pair: Pair
    pair_cosine: float
    table: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """How many words had each role."""
        counts = self.table["role"].value_counts()
        return {role: int(counts.get(role, 0)) for role in ROLES}

    def rows(self, role: str) -> list[dict[str, float | str]]:
        """``word``, ``before``, ``after`` of the words that had ``role``, in the input's order."""
        return _records(self.table[self.table["role"] == role])

    def largest(self, top: int) -> list[dict[str, float | str]]:
        """The ``top`` neutralised words of largest projection before (absolute value)."""
        t = self.table[self.table["role"] == "neutralized"]
        return _records(
            t.reindex(t["before"].abs().sort_values(ascending=False, kind="stable").index).head(top)
        )

    def to_dict(self, top: int = 20) -> dict[str, object]:
        """JSON-able summary: the direction's figures, counts, the definitional and equalised
        words and the ``top`` neutralised words of largest projection before."""
        return {
            "n_words": len(self.words),
            "dim": int(self.vectors.shape[1]),
            "n_definitional_pairs": self.n_pairs,
            "explained": self.explained,
            "pair": list(self.pair),
            "pair_cosine": self.pair_cosine,
            "direction": [float(v) for v in self.direction],
            "counts": self.counts(),
            "definitional": self.rows("definitional"),
            "equalized": self.rows("equalized"),
            "largest_neutralized": self.largest(top),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, float | str]]:
    return [
        {"word": str(w), "before": float(b), "after": float(a)}
        for w, b, a in zip(frame["word"], frame["before"], frame["after"], strict=True)
    ]


def debias(
    words: Sequence[str],
    vectors: np.ndarray,
    definitional: Sequence[Pair],
    equalize_pairs: Sequence[Pair] = (),
    neutralize_words: Sequence[str] | None = None,
) -> DebiasResult:
    """Normalise, find the bias direction, neutralise, equalise.

    Args:
        words: `(n,)` distinct words.
        vectors: `(n, d)` their vectors.
        definitional: pairs that define the direction (first word on the positive side).
        equalize_pairs: pairs to make symmetric about the direction.
        neutralize_words: words to neutralise; None: every word in no pair.

    Raises:
        DataError: a pair or word that is not among ``words``, a pair of one word twice, a word
            in two equalise pairs, a word both neutralised and equalised, or pairs that do not
            define a direction.
    """
    index = {w: i for i, w in enumerate(words)}
    if len(index) != len(words):
        raise DataError("the vectors hold a word twice; expected each word once")
    if not definitional:
        raise DataError("no definitional pairs: at least one is needed to find the bias direction")

    def position(word: str, what: str) -> int:
        if word not in index:
            raise DataError(f"{what}: '{word}' is not in the vectors")
        return index[word]

    for what, pairs in (("definitional pair", definitional), ("equalize pair", equalize_pairs)):
        for a, b in pairs:
            if a == b:
                raise DataError(f"{what} '{a} {b}': the two words must differ")
            position(a, f"{what} '{a} {b}'")
            position(b, f"{what} '{a} {b}'")
    e = unit_rows(vectors)
    first = e[[index[a] for a, _ in definitional]]
    second = e[[index[b] for _, b in definitional]]
    try:
        g, explained = bias_direction(first, second)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    simple = first[0] - second[0]
    pair_cosine = float(simple @ g / np.linalg.norm(simple)) if np.linalg.norm(simple) > 0 else 0.0

    partner: dict[str, str] = {}
    for a, b in equalize_pairs:
        for w, other in ((a, b), (b, a)):
            if w in partner:
                raise DataError(f"equalize pair '{a} {b}': '{w}' is already in the pair with '{partner[w]}'")
            partner[w] = other
    in_pairs = set(partner) | {w for p in definitional for w in p}
    if neutralize_words is None:
        neutral = [w for w in words if w not in in_pairs]
    else:
        neutral = list(dict.fromkeys(neutralize_words))
        for w in neutral:
            position(w, "neutralize word")
            if w in partner:
                raise DataError(f"neutralize word '{w}' is also in the equalize pair with '{partner[w]}'")
            if w in in_pairs:
                raise DataError(f"neutralize word '{w}' is also in a definitional pair")

    before = projection(e, g)
    out = e.copy()
    role = np.full(len(words), "kept", dtype=object)
    role[[index[w] for p in definitional for w in p]] = "definitional"
    if neutral:
        rows_n = [index[w] for w in neutral]
        out[rows_n] = neutralize(e[rows_n], g)
        role[rows_n] = "neutralized"
    for a, b in equalize_pairs:
        out[index[a]], out[index[b]] = equalize(e[index[a]], e[index[b]], g)
        role[[index[a], index[b]]] = "equalized"
    table = pd.DataFrame(
        {
            "word": list(words),
            "role": role,
            "before": before,
            "after": projection(out, g),
            "pair": [partner.get(w, "") for w in words],
        }
    )
    return DebiasResult(
        words=list(words),
        vectors=out,
        direction=g,
        explained=explained,
        n_pairs=len(definitional),
        pair=(definitional[0][0], definitional[0][1]),
        pair_cosine=pair_cosine,
        table=table,
    )
