"""Generated glyph identities: many images of each of a few dozen characters (no download).

Each identity is one character (``0``-``9``, then ``A``-``Z``, then ``a``-``z``) drawn with
Pillow's bundled font at a random size, angle, offset and stroke width, with pixel noise: the
"faces" of a verification or one-shot learning recipe, with enough identities that dev and test
can hold identities train never sees. Seeded: one seed, one dataset (for one Pillow version).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.data._common import encode_target, hash_arrays, row_hashes
from dlkit.data.dataset import Dataset, Task
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CANVAS = 40


class GlyphsSource(Spec):
    """Images of generated glyphs, one identity per character (for task verification)."""

    type: Literal["glyphs"] = "glyphs"
    identities: int = Field(default=36, ge=2, le=len(CHARACTERS), description="Characters, from 0-9 A-Z a-z.")
    per_identity: int = Field(default=20, ge=1, le=1000, description="Images of each identity.")
    size: int = Field(default=16, ge=8, le=64, description="Height and width of the square images.")
    noise: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Standard deviation of the pixel noise (1 = the full 0-255 range).",
    )
    variation: float = Field(
        default=1.0,
        ge=0,
        le=2,
        description="Scale of the random size (18-28 px), angle (±12°) and offset (±3 px) ranges; 0: none.",
    )
    seed: int = Field(default=0, ge=0, description="Seeds the sizes, angles, offsets and noise.")


def render_glyphs(spec: GlyphsSource) -> tuple[np.ndarray, np.ndarray]:
    """Images `(n, size, size, 1)` in [0, 255] and their characters `(n,)`, identity by identity."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(spec.seed)
    images: list[np.ndarray] = []
    labels: list[str] = []
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    v = spec.variation
    for char in CHARACTERS[: spec.identities]:
        for _ in range(spec.per_identity):
            canvas = Image.new("L", (_CANVAS, _CANVAS), 0)
            draw = ImageDraw.Draw(canvas)
            size = round(23 + v * rng.uniform(-5, 5))
            font = fonts.setdefault(size, ImageFont.load_default(size=size))
            dx, dy = v * rng.uniform(-3, 3, size=2)
            draw.text(
                (_CANVAS / 2 + dx, _CANVAS / 2 + dy),
                char,
                fill=255,
                font=font,
                anchor="mm",
                stroke_width=int(rng.integers(0, 2)),
                stroke_fill=255,
            )
            canvas = canvas.rotate(float(v * rng.uniform(-12, 12)), resample=Image.Resampling.BILINEAR)
            small = canvas.resize((spec.size, spec.size), Image.Resampling.LANCZOS)
            pixels = np.asarray(small, dtype=np.float32)
            pixels = pixels + rng.normal(0.0, 255.0 * spec.noise, pixels.shape).astype(np.float32)
            # whole grey levels in [0, 255], as an image folder reads a PNG of the same glyph
            images.append(np.clip(np.round(pixels), 0.0, 255.0))
            labels.append(char)
    return np.stack(images)[..., np.newaxis], np.asarray(labels)


def load_glyphs(
    spec: GlyphsSource, task: Task | None, base_dir: Path, columns: Sequence[str] = ()
) -> Dataset:
    """Generate the glyph identities (the recipe's ``data.task``, multiclass when absent)."""
    where = f"glyphs:{spec.identities}x{spec.per_identity}"
    if columns:
        raise DataError(f"{where}: has no column '{columns[0]}' (generated glyphs have no metadata)")
    x, chars = render_glyphs(spec)
    y, found, classes = encode_target(pd.Series(chars), task, f"{where}: identity")
    return Dataset(
        x=x,
        y=y,
        ids=np.arange(len(x)),
        task=found,
        kind="image",
        classes=classes,
        content_hash=hash_arrays(x, y),
        description=where,
        input_hashes=row_hashes(x),
    )
