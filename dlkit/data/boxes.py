"""Images with boxes (task ``detection``): annotation files, and digit canvases made here.

``boxes``: images and their boxes from one of three layouts, in pixels of the image as stored:

- a CSV with columns ``image, class, x_min, y_min, x_max, y_max``, one row per box (an image
  without objects: one row with the box columns empty);
- a folder of Pascal VOC ``.xml`` files (``filename``, ``size``, ``object/name``, ``bndbox``);
- a COCO ``.json`` file (``images``, ``annotations`` with ``bbox: [x, y, width, height]``,
  ``categories``).

Image paths are taken from ``images`` (relative to the annotations' folder; that folder when
absent). To predict
new images, the path may also be a folder of images without annotations.

``canvas``: scikit-learn's 8x8 digits placed at random scales on larger blank canvases, with
known boxes (the tight box around each digit's ink), generated at load time from a seed: the
gallery's detection data, nothing downloaded.

Boxes are held in image units (0 to 1 across the width and height, see
:mod:`dlkit.analysis.detection`), so resizing the images leaves them as they are; ``sizes``
keeps each image's stored ``(width, height)`` to write predictions back in pixels.
"""

from __future__ import annotations

import hashlib
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Pixels, Spec
from dlkit.data._common import hash_arrays, hash_bytes64, resolve, row_hashes
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.data.images import EXTENSIONS, decode
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

CSV_COLUMNS = ("image", "class", "x_min", "y_min", "x_max", "y_max")


class _DetectionOptions(Spec):
    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[Task] = "detection"

    grid: int = Field(default=4, ge=1, le=64, description="S: the grid has S x S cells.")
    anchors: int | list[tuple[float, float]] = Field(
        default=2,
        description="B anchor boxes per cell: a count (found by k-means with IoU distance on the "
        "training boxes) or [width, height] pairs in image units (0 to 1).",
    )
    score_threshold: float = Field(
        default=0.25, gt=0, lt=1, description="Detections scoring less are dropped."
    )
    nms_threshold: float = Field(
        default=0.45,
        gt=0,
        le=1,
        description="Per-class non-max suppression: IoU above which a box is dropped.",
    )


class BoxesSource(_DetectionOptions):
    """Images with boxes from a CSV, Pascal VOC XML files or a COCO JSON file."""

    type: Literal["boxes"] = "boxes"
    path: Path = Field(
        description="A CSV (image, class, x_min, y_min, x_max, y_max), a folder of VOC .xml files or "
        "a COCO .json file; relative paths are taken from the recipe's folder."
    )
    images: Path | None = Field(
        default=None,
        description="The folder image paths are taken from, relative to the annotations' folder; "
        "that folder when absent.",
    )
    image_size: tuple[Pixels, Pixels] = Field(description="[height, width] every image is resized to.")
    color_mode: Literal["rgb", "grayscale"] = Field(default="rgb", description="3 channels or 1.")
    classes: list[str] | None = Field(
        default=None, description="Class names in index order; the sorted names found when absent."
    )


class CanvasSource(_DetectionOptions):
    """Digits (scikit-learn's 8x8) placed on blank canvases with known boxes, made from a seed."""

    type: Literal["canvas"] = "canvas"
    n_images: int = Field(default=600, ge=10, le=100_000, description="Canvases generated.")
    size: int = Field(default=48, ge=16, le=512, description="Canvas side in pixels.")
    max_objects: int = Field(default=3, ge=1, le=10, description="Each canvas holds 1 to max_objects digits.")
    scale: tuple[float, float] = Field(
        default=(1.5, 3.0), description="Range of the factor a digit's 8 pixels are scaled by."
    )
    digits: list[int] = Field(
        default_factory=lambda: list(range(10)),
        min_length=1,
        description="Which digits appear (the classes).",
    )
    seed: int = Field(default=0, description="The canvases are the same for the same seed.")


@dataclass
class DetectionDataset(Dataset):
    """A :class:`Dataset` of images with boxes.

    Attributes:
        boxes: per image, its boxes `(k, 4)` in image units.
        box_classes: per image, its boxes' class indices `(k,)`.
        sizes: per image, its stored `(width, height)` in pixels.
    """

    boxes: list[np.ndarray] = field(default_factory=list)
    box_classes: list[np.ndarray] = field(default_factory=list)
    sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def prepare(self, train: np.ndarray) -> None:
        """Anchors from the training boxes (k-means, IoU distance) when the recipe gives a count."""
        from dlkit.analysis.detection import kmeans_anchors

        anchors = self.options["anchors"]
        if isinstance(anchors, int):
            wh = np.concatenate(
                [self.boxes[i][:, 2:] - self.boxes[i][:, :2] for i in train] + [np.zeros((0, 2))]
            )
            try:
                found = kmeans_anchors(wh, anchors, seed=0)
            except ValueError as exc:
                raise DataError(f"{self.description}: data.source.anchors: {exc} in train") from None
            self.options["anchors"] = [[round(float(w), 6), round(float(h), 6)] for w, h in found]


def _canvases(spec: CanvasSource) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pool = np.flatnonzero(np.isin(bunch.target, spec.digits))
    index = {d: i for i, d in enumerate(spec.digits)}
    rng = np.random.default_rng(spec.seed)
    size = spec.size
    x = np.zeros((spec.n_images, size, size, 1), dtype=np.float32)
    boxes: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    for n in range(spec.n_images):
        wanted = int(rng.integers(1, spec.max_objects + 1))
        placed: list[list[float]] = []
        labels: list[int] = []
        for _ in range(wanted * 20):
            if len(placed) == wanted:
                break
            j = int(rng.choice(pool))
            side = min(size, max(4, round(8 * rng.uniform(*spec.scale))))
            digit = Image.fromarray(bunch.images[j].astype(np.float32) * (255 / 16), mode="F")
            patch = np.asarray(digit.resize((side, side), Image.Resampling.BILINEAR))
            ink = patch > 32
            rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
            top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            box = [left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1]
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                continue  # digits never overlap: each box holds one digit
            region = x[n, top : top + side, left : left + side, 0]
            np.maximum(region, patch, out=region)
            placed.append([float(v) for v in box])
            labels.append(index[int(bunch.target[j])])
        boxes.append(np.asarray(placed, dtype=np.float64).reshape(-1, 4) / size)
        classes.append(np.asarray(labels, dtype=np.int64))
    return x, boxes, classes


def load_canvas(
    spec: CanvasSource, task: Task | None, base_dir: Path, columns: Sequence[str] = ()
) -> DetectionDataset:
    """Generate the digit canvases the spec describes."""
    if columns:
        raise DataError(f"canvas: has no column '{columns[0]}' (generated canvases have no metadata)")
    _check_task(task, "canvas")
    x, boxes, classes = _canvases(spec)
    n = len(x)
    return DetectionDataset(
        x=x,
        y=np.asarray([len(b) for b in boxes], dtype=np.float32),
        ids=np.asarray([f"canvas-{i:05d}" for i in range(n)], dtype=object),
        task=spec.implied_task,
        kind="image",
        classes=[str(d) for d in spec.digits],
        content_hash=hash_arrays(x, *boxes, *classes),
        description=f"canvas (seed {spec.seed})",
        input_hashes=row_hashes(x.reshape(n, -1)),
        options=_options(spec, (spec.size, spec.size), 1),
        boxes=boxes,
        box_classes=classes,
        sizes=np.full((n, 2), spec.size, dtype=np.int64),
    )


def _options(spec: _DetectionOptions, image_size: tuple[int, int], channels: int) -> dict[str, Any]:
    anchors = spec.anchors if isinstance(spec.anchors, int) else [list(a) for a in spec.anchors]
    return {
        "input_shape": [image_size[0], image_size[1], channels],
        "image_size": list(image_size),
        "channels": channels,
        "grid": spec.grid,
        "anchors": anchors,
        "score_threshold": spec.score_threshold,
        "nms_threshold": spec.nms_threshold,
    }


def _check_task(task: Task | None, where: str) -> None:
    if task not in (None, _DetectionOptions.implied_task):
        raise RecipeError(f"{where}: data.task: images with boxes are task detection (got {task})")


# -- annotation layouts ------------------------------------------------------------------------


@dataclass
class _Annotated:
    image: str
    boxes: list[list[float]]
    names: list[str]
    size: tuple[int, int] | None = None  # (width, height) the annotation states


def _read_csv(path: Path) -> list[_Annotated]:
    try:
        frame = pd.read_csv(path, dtype={"image": str, "class": str})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read as a CSV ({exc})") from None
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(CSV_COLUMNS)})")
    images: dict[str, _Annotated] = {}
    for row, record in enumerate(frame.itertuples(index=False)):
        image = record.image
        if not isinstance(image, str) or not image:
            raise DataError(f"{path}: row {row}: column 'image' is empty")
        entry = images.setdefault(image, _Annotated(image, [], []))
        name = record._1  # 'class' is a keyword: itertuples renames it
        values = [getattr(record, c) for c in CSV_COLUMNS[2:]]
        if pd.isna(name) and all(pd.isna(v) for v in values):
            continue  # an image without objects
        try:
            box = [float(v) for v in values]
        except (TypeError, ValueError):
            raise DataError(
                f"{path}: row {row}: x_min, y_min, x_max, y_max must be numbers (got {values})"
            ) from None
        if pd.isna(name) or any(np.isnan(box)):
            raise DataError(f"{path}: row {row}: a box needs a class and all four coordinates")
        entry.boxes.append(box)
        entry.names.append(str(name))
    return list(images.values())


def _read_voc(folder: Path) -> list[_Annotated]:
    files = sorted(folder.glob("*.xml"))
    if not files:
        raise DataError(f"{folder}: no Pascal VOC .xml files")
    found = []
    for path in files:
        try:
            root = ET.parse(path).getroot()
            image = root.findtext("filename")
            if not image:
                raise DataError(f"{path}: no <filename>")
            width, height = root.findtext("size/width"), root.findtext("size/height")
            boxes, names = [], []
            for obj in root.iter("object"):
                box = obj.find("bndbox")
                if box is None:
                    raise DataError(f"{path}: an <object> without <bndbox>")
                boxes.append([float(box.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax")])
                names.append(str(obj.findtext("name")))
        except ET.ParseError as exc:
            raise DataError(f"{path}: not valid XML ({exc})") from None
        except ValueError as exc:
            raise DataError(f"{path}: a box coordinate is not a number ({exc})") from None
        size = (int(float(width)), int(float(height))) if width and height else None
        found.append(_Annotated(image, boxes, names, size))
    return found


def _read_coco(path: Path) -> list[_Annotated]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        names = {c["id"]: str(c["name"]) for c in doc["categories"]}
        images = {
            i["id"]: _Annotated(str(i["file_name"]), [], [], (int(i["width"]), int(i["height"])))
            for i in doc["images"]
        }
        for a in doc["annotations"]:
            x, y, w, h = (float(v) for v in a["bbox"])
            entry = images[a["image_id"]]
            entry.boxes.append([x, y, x + w, y + h])
            entry.names.append(names[a["category_id"]])
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{path}: not a COCO detection file (missing or bad {exc}; expected images, annotations "
            "with image_id, category_id, bbox [x, y, width, height], and categories)"
        ) from None
    return list(images.values())


def _layout(path: Path) -> str:
    if path.is_dir():
        return "voc" if any(path.glob("*.xml")) else "folder"
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise DataError(f"{path}: expected a .csv, a COCO .json or a folder of VOC .xml files")


def load_boxes(
    spec: BoxesSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> DetectionDataset:
    """Read the annotations and their images (resized to ``image_size``)."""
    path = resolve(spec.path, base_dir)
    _check_task(task, str(path))
    if columns:
        raise DataError(f"{path}: box annotations have no column '{columns[0]}'")
    if not path.exists():
        raise DataError(f"{path}: not found")
    layout = _layout(path)
    home = path if path.is_dir() else path.parent
    folder = home if spec.images is None or layout == "folder" else resolve(spec.images, home)
    if layout == "folder":
        if labels != "optional":
            raise DataError(f"{path}: a folder without VOC .xml files (expected annotations)")
        found = [
            _Annotated(p.relative_to(path).as_posix(), [], [])
            for p in sorted(path.rglob("*"))
            if p.suffix.lower() in EXTENSIONS
        ]
        if not found:
            raise DataError(f"{path}: no images")
    else:
        found = {"csv": _read_csv, "voc": _read_voc, "coco": _read_coco}[layout](path)
    if not found:
        raise DataError(f"{path}: no images annotated")
    seen = sorted({n for a in found for n in a.names})
    classes = list(spec.classes) if spec.classes is not None else seen
    unknown = [n for n in seen if n not in classes]
    if unknown:
        raise DataError(
            f"{path}: class '{unknown[0]}' is not one of data.source.classes ({', '.join(classes)})"
        )
    if not classes:
        raise DataError(f"{path}: no boxes (detection needs at least one class)")
    height, width = spec.image_size
    channels = 3 if spec.color_mode == "rgb" else 1
    x = np.empty((len(found), height, width, channels), dtype=np.float32)
    hashes = np.empty(len(found), dtype=np.uint64)
    sizes = np.zeros((len(found), 2), dtype=np.int64)
    whole = hashlib.sha256()
    boxes, box_classes = [], []
    for i, entry in enumerate(found):
        image_path = folder / entry.image
        if not image_path.is_file():
            raise DataError(f"{path}: image '{entry.image}' not found in {folder}")
        data = image_path.read_bytes()
        hashes[i] = hash_bytes64(data)
        whole.update(entry.image.encode() + b"\0" + hashlib.sha256(data).digest())
        x[i] = decode(data, image_path, spec.image_size, spec.color_mode)
        sizes[i] = _stored_size(data, image_path)
        box = np.asarray(entry.boxes, dtype=np.float64).reshape(-1, 4)
        w, h = sizes[i]
        bad = (box[:, 0] >= box[:, 2]) | (box[:, 1] >= box[:, 3]) | (box < 0).any(axis=1)
        bad |= (box[:, 2] > w) | (box[:, 3] > h)
        if bad.any():
            raise DataError(
                f"{path}: image '{entry.image}': box {box[bad][0].tolist()} is not inside the {w}x{h} image "
                "with x_min < x_max and y_min < y_max (pixels)"
            )
        whole.update(box.tobytes() + "\0".join(entry.names).encode())
        boxes.append(box / np.array([w, h, w, h], dtype=np.float64))
        box_classes.append(np.asarray([classes.index(n) for n in entry.names], dtype=np.int64))
    labelled = layout != "folder"
    return DetectionDataset(
        x=x,
        y=np.asarray([len(b) for b in boxes], dtype=np.float32),
        ids=np.asarray([a.image for a in found], dtype=object),
        task=spec.implied_task,
        kind="image",
        classes=list(classes),
        content_hash=whole.hexdigest(),
        description=str(path),
        input_hashes=hashes,
        files=np.asarray([str(folder / a.image) for a in found], dtype=object),
        options=_options(spec, (height, width), channels),
        labelled=labelled,
        boxes=boxes,
        box_classes=box_classes,
        sizes=sizes,
    )


def _stored_size(data: bytes, path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        return opened.size
