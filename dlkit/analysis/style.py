"""Neural style transfer's costs, as the course defines them: the pure NumPy reference.

For one layer's activations ``a`` of shape `(nH, nW, nC)`:

- Gram matrix: ``G = A Aᵀ`` with ``A`` the activations unrolled to `(nC, nH·nW)`: ``G[k, k']``
  is how much channels ``k`` and ``k'`` fire together (the layer's "style");
- content cost: ``J_content(C, G) = 1 / (4·nH·nW·nC) · Σ (a_C − a_G)²``;
- style cost of a layer: ``J_style(S, G) = 1 / (4·nC²·(nH·nW)²) · Σ (G_S − G_G)²``, summed over
  several layers with weights ``λ_l``;
- total variation of an image `(H, W, C)`: ``Σ |x[i+1, j] − x[i, j]| + Σ |x[i, j+1] − x[i, j]|``
  (the sum of absolute differences of neighbouring pixels, as ``tf.image.total_variation``);
- total cost: ``J = α·J_content + β·J_style (+ γ·TV)``.

:mod:`dlkit.training.style` computes the same in TensorFlow to optimise the image; the tests
check one against the other and against hand computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def gram_matrix(activations: np.ndarray) -> np.ndarray:
    """``A Aᵀ`` `(nC, nC)` of one image's activations `(nH, nW, nC)`."""
    a = np.asarray(activations, dtype=np.float64)
    unrolled = a.reshape(-1, a.shape[-1]).T  # (nC, nH·nW)
    return unrolled @ unrolled.T


def content_cost(a_content: np.ndarray, a_generated: np.ndarray) -> float:
    """``1 / (4·nH·nW·nC) · Σ (a_C − a_G)²`` of two activations `(nH, nW, nC)`."""
    c = np.asarray(a_content, dtype=np.float64)
    g = np.asarray(a_generated, dtype=np.float64)
    return float(((c - g) ** 2).sum() / (4 * c.size))


def layer_style_cost(a_style: np.ndarray, a_generated: np.ndarray) -> float:
    """``1 / (4·nC²·(nH·nW)²) · Σ (G_S − G_G)²`` of two activations `(nH, nW, nC)`."""
    s = np.asarray(a_style, dtype=np.float64)
    n_h, n_w, n_c = s.shape
    diff = gram_matrix(s) - gram_matrix(a_generated)
    return float((diff**2).sum() / (4 * n_c**2 * (n_h * n_w) ** 2))


def style_cost(
    a_style: Sequence[np.ndarray], a_generated: Sequence[np.ndarray], weights: Sequence[float]
) -> float:
    """``Σ_l λ_l · J_style^l`` over the style layers (activations and weights in one order)."""
    return float(
        sum(w * layer_style_cost(s, g) for s, g, w in zip(a_style, a_generated, weights, strict=True))
    )


def total_variation(image: np.ndarray) -> float:
    """Sum of absolute differences of vertically and horizontally neighbouring pixels `(H, W, C)`."""
    x = np.asarray(image, dtype=np.float64)
    return float(np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum())


def total_cost(
    j_content: float, j_style: float, alpha: float, beta: float, tv: float = 0.0, gamma: float = 0.0
) -> float:
    """``α·J_content + β·J_style + γ·TV``."""
    return alpha * j_content + beta * j_style + gamma * tv
