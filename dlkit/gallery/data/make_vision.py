"""Regenerate the vision gallery's data (dlkit.data.shapes, seeded): 32x32 grey images.

digit-boxes.npz: x (600, 32, 32, 1) digits 0-4 on a canvas, y (600, 5) digit and box in pixels.
triangles.npz: x (600, 32, 32, 1) triangles, y (600, 3, 2) corners (top, bottom left, bottom right).
shapes.npz: x (400, 32, 32, 1) circles, squares, triangles on clutter, y (400, 32, 32) masks.
Run: python recipes/data/make_vision.py
"""

from pathlib import Path

import numpy as np

from dlkit.data.shapes import digit_boxes, shape_masks, triangle_corners

if __name__ == "__main__":
    here = Path(__file__).parent
    for name, (x, y) in {
        "digit-boxes.npz": digit_boxes(600, 32, seed=0, digits=5),
        "triangles.npz": triangle_corners(600, 32, seed=0),
        "shapes.npz": shape_masks(400, 32, seed=0),
    }.items():
        np.savez_compressed(here / name, x=x, y=y)
