"""Known answers for the style-transfer costs as the course defines them (dlkit.analysis.style)."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis import style

# activations (nH, nW, nC) = (1, 2, 2): positions p1 = (1, 2), p2 = (3, 4)
A = np.array([[[1.0, 2.0], [3.0, 4.0]]])
B = np.array([[[0.0, 2.0], [3.0, 2.0]]])


def test_gram_matrix_by_hand() -> None:
    # unrolled (nC, nH·nW) = [[1, 3], [2, 4]]: G = [[1+9, 2+12], [2+12, 4+16]]
    assert style.gram_matrix(A).tolist() == [[10, 14], [14, 20]]


def test_content_cost_by_hand() -> None:
    # Σ (a_C − a_G)² = 1 + 0 + 0 + 4 = 5, over 4·nH·nW·nC = 4·1·2·2 = 16
    assert style.content_cost(A, B) == pytest.approx(5 / 16)


def test_layer_style_cost_by_hand() -> None:
    # G_B: unrolled [[0, 3], [2, 2]] -> [[9, 6], [6, 8]]; G_A − G_B = [[1, 8], [8, 12]]
    # Σ squares = 1 + 64 + 64 + 144 = 273, over 4·nC²·(nH·nW)² = 4·4·4 = 64
    assert style.layer_style_cost(A, B) == pytest.approx(273 / 64)
    assert style.style_cost([A, A], [B, A], [0.5, 2.0]) == pytest.approx(0.5 * 273 / 64)


def test_total_variation_and_total_cost() -> None:
    image = np.array([[[0.0], [1.0]], [[3.0], [1.0]]])  # 2x2, one channel
    # vertical |3-0| + |1-1| = 3; horizontal |1-0| + |1-3| = 3
    assert style.total_variation(image) == 6.0
    assert style.total_cost(2.0, 3.0, alpha=10, beta=40, tv=6.0, gamma=0.5) == 10 * 2 + 40 * 3 + 3
