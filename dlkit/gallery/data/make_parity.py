"""Regenerate parity.npz: bit sequences and their running parity, one label per step.

x `(n, 12, 1)`: random 0/1 bits, sequences 4 to 12 steps long, zero-padded on the right.
y `(n, 12)`: after each step, the parity of the ones seen so far (0 even, 1 odd); -1 on padding.
Run: python recipes/data/make_parity.py
"""

from pathlib import Path

import numpy as np


def make(n: int = 1200, steps: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, steps)).astype(np.int8)
    lengths = rng.integers(4, steps + 1, size=n)
    padding = np.arange(steps)[None, :] >= lengths[:, None]
    bits[padding] = 0
    y = (np.cumsum(bits, axis=1) % 2).astype(np.int8)
    y[padding] = -1
    return bits[:, :, None], y


if __name__ == "__main__":
    x, y = make()
    np.savez_compressed(Path(__file__).with_name("parity.npz"), x=x, y=y)
