"""Images with mask images (semantic segmentation): ``<path>/images/`` and ``<path>/masks/``.

Every image has a mask of the same name (any image extension; the mask is a PNG): a grey-level
or palette PNG whose pixel values are class indices, or an RGB PNG whose colours the recipe
maps to classes (``palette``). Images are resized bilinearly, masks with the nearest pixel (a
class index is never blended). New data for ``dlkit predict`` may come without ``masks/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Pixels, Spec
from dlkit.data._common import hash_bytes64, resolve
from dlkit.data.dataset import Dataset, Labels, Task
from dlkit.data.images import _MAGIC, _check_image, _members, decode
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")

IMAGES, MASKS = "images", "masks"


class MaskFolderSource(Spec):
    """A folder with ``images/`` and ``masks/`` sub-folders, one mask PNG per image, same name."""

    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[Task] = "segmentation"

    type: Literal["masks"] = "masks"
    path: Path = Field(description="The folder holding images/ and masks/; relative to the recipe's folder.")
    image_size: tuple[Pixels, Pixels] = Field(description="[height, width] images and masks are resized to.")
    color_mode: Literal["rgb", "grayscale"] = Field(default="rgb", description="3 channels or 1.")
    classes: list[str] | None = Field(
        default=None,
        description="The name of each class index (0 = the first); 0, 1, ... up to the largest "
        "index found when absent. With a palette: the palette's order when absent.",
    )
    palette: dict[str, tuple[int, int, int]] | None = Field(
        default=None,
        description="RGB masks: class name -> [r, g, b]; every colour in a mask must be listed. "
        "Absent: masks hold class indices as grey levels.",
    )

    @model_validator(mode="after")
    def _palette_names_classes(self) -> MaskFolderSource:
        if self.palette is not None and self.classes is not None:
            missing = [c for c in self.classes if c not in self.palette]
            if missing:
                raise ValueError(f"palette: no colour for class '{missing[0]}'")
        return self


def _mask_for(image: Path, images: Path, masks: Path) -> Path:
    return (masks / image.relative_to(images)).with_suffix(".png")


def _read_mask(path: Path, spec: MaskFolderSource, names: list[str] | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    height, width = spec.image_size
    try:
        with Image.open(path) as opened:
            if spec.palette is not None:
                rgb = np.asarray(opened.convert("RGB"), dtype=np.int64)
                codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
                order = names or list(spec.palette)
                lookup = {
                    (r << 16) | (g << 8) | b: i for i, c in enumerate(order) for r, g, b in [spec.palette[c]]
                }
                values = np.full(codes.shape, -1, dtype=np.int64)
                for code, index in lookup.items():
                    values[codes == code] = index
                if (values < 0).any():
                    y, x = (int(v) for v in np.argwhere(values < 0)[0])
                    raise DataError(
                        f"{path}: colour {tuple(int(v) for v in rgb[y, x])} at x={x}, y={y} is not in "
                        "data.source.palette"
                    )
                indices = Image.fromarray(values.astype(np.uint8))
            elif opened.mode in ("L", "P", "I", "I;16"):
                indices = opened if opened.mode != "I;16" else opened.convert("I")
            else:
                raise DataError(
                    f"{path}: mask has colour mode {opened.mode}; expected grey levels (class indices) "
                    "or a data.source.palette for colours"
                )
            resized = indices.resize((width, height), Image.Resampling.NEAREST)
            return np.asarray(resized, dtype=np.int64)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: cannot read the mask ({exc})") from None


def load_masks(
    spec: MaskFolderSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Load images and their masks (class indices per pixel) for task segmentation.

    Raises:
        RecipeError: another task than segmentation.
        DataError: a missing folder or mask, a mask that is no PNG of class indices, an index
            beyond the classes, a colour not in the palette.
    """
    from dlkit.data.vision_labels import class_masks

    root = resolve(spec.path, base_dir)
    if task not in (None, spec.implied_task):
        raise RecipeError(
            f"data.task: a masks source gives a class per pixel: task {spec.implied_task} (got {task})"
        )
    if columns:
        raise DataError(f"{root}: a masks folder has no column '{columns[0]}' (only images and masks)")
    images, masks = root / IMAGES, root / MASKS
    if not images.is_dir():
        raise DataError(
            f"{root}: no '{IMAGES}' sub-folder",
            hint="put the images in <path>/images and the masks in <path>/masks",
        )
    labelled = labels != "optional" or masks.is_dir()
    if labelled and not masks.is_dir():
        raise DataError(
            f"{root}: no '{MASKS}' sub-folder", hint="put one mask PNG per image, same name, in <path>/masks"
        )
    files = _members(images)
    if not files:
        raise DataError(f"{images}: no images")
    height, width = spec.image_size
    channels = 3 if spec.color_mode == "rgb" else 1
    x = np.empty((len(files), height, width, channels), dtype=np.float32)
    raw = np.empty((len(files), height, width), dtype=np.int64)
    hashes = np.empty(len(files), dtype=np.uint64)
    whole = hashlib.sha256()
    for i, path in enumerate(files):
        _check_image(path)
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise DataError(f"{path}: not a PNG or JPEG image (its content is neither)")
        hashes[i] = hash_bytes64(data)
        x[i] = decode(data, path, spec.image_size, spec.color_mode)
        whole.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
        if labelled:
            mask = _mask_for(path, images, masks)
            if not mask.is_file():
                raise DataError(
                    f"{path}: no mask {mask}", hint="every image needs a mask PNG of the same name in masks/"
                )
            raw[i] = _read_mask(mask, spec, spec.classes)
            whole.update(hashlib.sha256(mask.read_bytes()).digest())
    names = spec.classes if spec.classes is not None else (list(spec.palette) if spec.palette else None)
    y, classes = class_masks(raw if labelled else None, x.shape, names, f"{masks if labelled else images}")
    return Dataset(
        x=x,
        y=y,
        ids=np.asarray([p.relative_to(images).as_posix() for p in files], dtype=object),
        task=spec.implied_task,
        kind="image",
        classes=classes,
        content_hash=whole.hexdigest(),
        description=str(root),
        input_hashes=hashes,
        files=np.asarray([str(p) for p in files], dtype=object),
        options={
            "input_shape": [height, width, channels],
            "image_size": [height, width],
            "channels": channels,
        },
        labelled=labelled,
    )
