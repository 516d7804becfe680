"""Image data made here with known answers: digits on canvases (boxes), triangles (corner
points), shapes with masks. Seeded and deterministic; the gallery's npz files come from these
(``recipes/data/make_vision.py``) and tests draw small sets from them.

Every function returns ``uint8`` images `(n, size, size, 1)` and labels in the form the
``npz`` source reads for its task (:mod:`dlkit.data.vision_labels`), in pixels.
"""

from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("background", "circle", "square", "triangle")
CORNERS = ("top", "bottom_left", "bottom_right")


def digit_boxes(n: int, size: int = 32, seed: int = 0, digits: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits scaled 1x to 2x and placed at random on a dark canvas.

    Returns:
        images `(n, size, size, 1)` and labels `(n, 5)`: the digit, then its box
        ``x_min, y_min, x_max, y_max`` in pixels (the scaled digit's square).
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    bunch = load_digits()
    keep = np.flatnonzero(bunch.target < digits)
    picks = rng.choice(keep, size=n)
    x = np.zeros((n, size, size, 1), np.uint8)
    y = np.zeros((n, 5), np.float32)
    for i, j in enumerate(picks):
        side = int(rng.integers(8, min(17, size + 1)))
        digit = Image.fromarray((bunch.images[j] * (255 / 16)).astype(np.uint8)).resize(
            (side, side), Image.Resampling.BILINEAR
        )
        left, top = (int(v) for v in rng.integers(0, size - side + 1, size=2))
        x[i, top : top + side, left : left + side, 0] = np.asarray(digit)
        y[i] = (bunch.target[j], left, top, left + side, top + side)
    return x, y


def triangle_corners(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Filled triangles on a dark canvas; the keypoints are their corners, always in the order
    :data:`CORNERS` (the highest corner, then the lower two from left to right).

    Returns:
        images `(n, size, size, 1)` and points `(n, 3, 2)`: ``(x, y)`` in pixels.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size, 1), np.uint8)
    points = np.zeros((n, 3, 2), np.float32)
    margin = max(2, size // 16)
    for i in range(n):
        top_y = rng.uniform(margin, size * 0.45)
        low_y = rng.uniform(size * 0.6, size - margin, size=2)
        xs = np.sort(rng.uniform(margin, size - margin, size=2))
        xs[1] = max(xs[1], xs[0] + size * 0.25)
        xs[1] = min(xs[1], size - margin)
        top_x = rng.uniform(margin, size - margin)
        corners = [(top_x, top_y), (xs[0], low_y[0]), (xs[1], low_y[1])]
        canvas = Image.new("L", (size, size), 0)
        ImageDraw.Draw(canvas).polygon(corners, fill=int(rng.integers(150, 256)))
        x[i, :, :, 0] = np.asarray(canvas)
        points[i] = corners
    return x, points


def shape_masks(
    n: int, size: int = 32, seed: int = 0, max_shapes: int = 2, kinds: tuple[int, ...] = (1, 2, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """One to ``max_shapes`` circles, squares and triangles on a cluttered background, and their masks.

    ``kinds`` limits the shapes drawn (indices into :data:`SHAPE_CLASSES`): ``(2,)`` gives squares only.

    Returns:
        images `(n, size, size, 1)` and masks `(n, size, size)` of indices into
        :data:`SHAPE_CLASSES` (0 background; a later shape covers an earlier one).
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size, 1), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        image = Image.new("L", (size, size), 0)
        mask = Image.new("L", (size, size), 0)
        draw_image, draw_mask = ImageDraw.Draw(image), ImageDraw.Draw(mask)
        for _ in range(int(rng.integers(1, max_shapes + 1))):
            kind = int(kinds[int(rng.integers(0, len(kinds)))])
            r = rng.uniform(size * 0.12, size * 0.25)
            cx, cy = rng.uniform(r, size - r, size=2)
            box = (cx - r, cy - r, cx + r, cy + r)
            shade = int(rng.integers(140, 256))
            for draw, fill in ((draw_image, shade), (draw_mask, kind)):
                if kind == 1:
                    draw.ellipse(box, fill=fill)
                elif kind == 2:
                    draw.rectangle(box, fill=fill)
                else:
                    draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
        # smooth background clutter (coarse noise, upscaled): it compresses, unlike pixel noise
        coarse = Image.fromarray(rng.integers(0, 60, size=(4, 4)).astype(np.uint8))
        noise = np.asarray(coarse.resize((size, size), Image.Resampling.BILINEAR), dtype=np.int64)
        x[i, :, :, 0] = np.clip(np.asarray(image, dtype=np.int64) + noise, 0, 255).astype(np.uint8)
        masks[i] = np.asarray(mask)
    return x, masks
