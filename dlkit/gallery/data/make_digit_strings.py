"""Regenerate digit-strings.npz: images of 1 to 5 handwritten digits in a row, and their text.

Each image `(8, 48, 1)` pastes 8x8 digits of scikit-learn's bundled set (pixel values 0-16)
left to right, with 0 to 2 blank columns between them and a random left margin; ``y`` holds
the digits read left to right as a string (``"4071"``). The characters are not aligned to
the columns: the task is ctc. The first half of the examples draws its digits from the
even-numbered images of the bundled set, the second half from the odd-numbered ones (a random
split mixes both halves, so a digit image can appear in train and in dev, each time in another
string at another place).
Run: python recipes/data/make_digit_strings.py
"""

from pathlib import Path

import numpy as np

HEIGHT, WIDTH = 8, 48


def make(
    n: int = 3000, max_digits: int = 5, seed: int = 0, width: int = WIDTH
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` `(n, 8, width, 1)` uint8 images and ``y`` `(n,)` strings of 1 to ``max_digits`` digits
    (``width`` at least 10 * max_digits - 2)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target
    rng = np.random.default_rng(seed)
    x = np.zeros((n, HEIGHT, width, 1), dtype=np.uint8)
    y = []
    for row in range(n):
        length = int(rng.integers(1, max_digits + 1))
        gaps = rng.integers(0, 3, size=length - 1)
        used = 8 * length + int(gaps.sum())
        left = int(rng.integers(0, width - used + 1))
        half = np.arange(len(images)) % 2 == (row < n // 2)
        picks = rng.choice(np.flatnonzero(half), size=length)
        for k, pick in enumerate(picks):
            x[row, :, left : left + 8, 0] = np.maximum(x[row, :, left : left + 8, 0], images[pick])
            left += 8 + (int(gaps[k]) if k < length - 1 else 0)
        y.append("".join(str(labels[p]) for p in picks))
    return x, np.array(y)


if __name__ == "__main__":
    x, y = make()
    np.savez_compressed(Path(__file__).with_name("digit-strings.npz"), x=x, y=y)
