"""Boxes drawn on their images (PNG): true boxes in green, detections that found one in red,
false detections in orange, each detection labelled with its class and score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

TRUE = (40, 200, 60)
FOUND = (230, 40, 40)
FALSE = (255, 160, 0)


def _rgb(image: np.ndarray) -> np.ndarray:
    """An image `(h, w)` or `(h, w, channels)` of any range as uint8 RGB."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    low, high = float(x.min()), float(x.max())
    x = (x - low) / (high - low) * 255 if high > low else np.zeros_like(x)
    x = x.astype(np.uint8)
    return np.stack([x] * 3, axis=-1) if x.ndim == 2 else x[..., :3]


def draw_boxes(
    image: np.ndarray,
    size: tuple[int, int],
    predicted: list[dict[str, Any]],
    truth: list[dict[str, Any]] | None,
    path: Path,
    scale: int = 1,
) -> Path:
    """Draw one image's boxes (pixels of the stored ``size`` = (width, height)) and save it as PNG.

    Args:
        image: the image as the model saw it (resized); boxes are rescaled onto it.
        size: the stored image's (width, height) the boxes' pixels refer to.
        predicted: ``{"class", "score", "box", "hit"?}`` per detection.
        truth: ``{"class", "box", "found"?}`` per true box, or None (unlabelled).
        path: the PNG written.
        scale: an integer enlargement (small canvases are hard to read).
    """
    from PIL import Image, ImageDraw

    rgb = _rgb(image)
    h, w = rgb.shape[:2]
    picture = Image.fromarray(rgb).resize((w * scale, h * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(picture)
    fx, fy = w * scale / size[0], h * scale / size[1]

    def rect(box: list[float]) -> list[float]:
        return [box[0] * fx, box[1] * fy, box[2] * fx - 1, box[3] * fy - 1]

    for t in truth or []:
        draw.rectangle(rect(t["box"]), outline=TRUE, width=1)
        draw.text((t["box"][0] * fx + 1, t["box"][3] * fy - 11), str(t["class"]), fill=TRUE)
    for p in predicted:
        colour = FOUND if truth is None or p.get("hit", True) else FALSE
        draw.rectangle(rect(p["box"]), outline=colour, width=1)
        draw.text((p["box"][0] * fx + 1, p["box"][1] * fy), f"{p['class']} {p['score']:.2f}", fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def draw_frame(images: np.ndarray, sizes: np.ndarray, frame: Any, folder: Path, scale: int = 1) -> list[Path]:
    """Draw every row of a detection predictions frame (``id``, ``y_pred``, and ``y_true`` when
    labelled) on its image; one PNG per image in ``folder``, named after its id."""
    written = []
    labelled = "y_true" in frame.columns
    for k, row in enumerate(frame.itertuples(index=False)):
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(row.id))
        written.append(
            draw_boxes(
                images[k],
                (int(sizes[k][0]), int(sizes[k][1])),
                json.loads(row.y_pred),
                json.loads(row.y_true) if labelled else None,
                folder / f"{Path(name).stem}.png",
                scale,
            )
        )
    return written
