"""Folders of images, one sub-folder per class (PNG or JPEG), resized as the recipe says.

Every file is read once to hash it (the leakage check compares image bytes) and to check that
it is a PNG or JPEG. Loaded eagerly, images are decoded and resized with Pillow; streamed
(``stream: true``, or automatically when the decoded set would pass 1 GiB) only the file list
is kept and ``tf.data`` decodes batch by batch (:func:`dlkit.data.pipeline.make_stream`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dlkit._spec import Pixels, Spec
from dlkit.data._common import encode_target, hash_bytes64, resolve
from dlkit.data.dataset import Dataset, Task
from dlkit.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
STREAM_BYTES = 1 << 30


class ImageFolderSource(Spec):
    """A folder with one sub-folder of PNG/JPEG images per class (the folder name is the label)."""

    type: Literal["images"] = "images"
    path: Path = Field(description="The folder; relative paths are taken from the recipe's folder.")
    image_size: tuple[Pixels, Pixels] = Field(description="[height, width] every image is resized to.")
    color_mode: Literal["rgb", "grayscale"] = Field(default="rgb", description="3 channels or 1.")
    classes: list[str] | None = Field(
        default=None,
        description="Class sub-folders to use, in index order; all sub-folders, sorted, when absent.",
    )
    stream: bool | None = Field(
        default=None,
        description="Decode batch by batch through tf.data instead of loading whole; "
        "automatic when the decoded images would pass 1 GiB.",
    )


def list_images(spec: ImageFolderSource, root: Path) -> tuple[list[Path], list[str], list[str]]:
    """Image files, their labels and the class names, in a stable order.

    Raises:
        DataError: a missing folder, a stray file, an empty class or a file that is not an image.
    """
    if not root.is_dir():
        raise DataError(f"{root}: folder not found" if not root.exists() else f"{root}: not a folder")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    for p in entries:
        if not p.is_dir():
            raise DataError(
                f"{p}: expected only class sub-folders in {root} (got a file)",
                hint="put each image in the sub-folder named after its class",
            )
    found = [p.name for p in entries]
    classes = list(spec.classes) if spec.classes is not None else found
    for c in classes:
        if c not in found:
            raise DataError(f"{root}: no sub-folder for class '{c}' (found: {', '.join(found) or 'none'})")
    if len(classes) < 2:
        raise DataError(f"{root}: classification needs at least 2 class sub-folders (got {classes!r})")
    files: list[Path] = []
    labels: list[str] = []
    for c in classes:
        members = sorted(p for p in (root / c).rglob("*") if p.is_file() and not p.name.startswith("."))
        if not members:
            raise DataError(f"{root / c}: no images in class '{c}'")
        for p in members:
            if p.suffix.lower() not in EXTENSIONS:
                raise DataError(
                    f"{p}: not a PNG or JPEG image (expected {', '.join(EXTENSIONS)})",
                    hint="remove it, or move it out of the image folder",
                )
        files += members
        labels += [c] * len(members)
    return files, labels, classes


def load_images(
    spec: ImageFolderSource, task: Task | None, base_dir: Path, columns: Sequence[str] = ()
) -> Dataset:
    """Load (or index, when streamed) a folder of class sub-folders of images."""
    root = resolve(spec.path, base_dir)
    if columns:
        raise DataError(f"{root}: image folders have no column '{columns[0]}' (only class and file)")
    if task == "regression":
        raise DataError(f"{root}: an image folder gives class labels; task regression needs a table or npz")
    files, labels, classes = list_images(spec, root)
    height, width = spec.image_size
    channels = 3 if spec.color_mode == "rgb" else 1
    stream = spec.stream
    if stream is None:
        stream = len(files) * height * width * channels * 4 > STREAM_BYTES
    whole = hashlib.sha256()
    hashes = np.empty(len(files), dtype=np.uint64)
    x = (
        np.zeros((len(files), 0), dtype=np.float32)
        if stream
        else np.empty((len(files), height, width, channels), dtype=np.float32)
    )
    for i, path in enumerate(files):
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise DataError(f"{path}: not a PNG or JPEG image (its content is neither)")
        hashes[i] = hash_bytes64(data)
        whole.update(path.relative_to(root).as_posix().encode() + b"\0")
        whole.update(hashlib.sha256(data).digest())
        if not stream:
            x[i] = decode(data, path, spec.image_size, spec.color_mode)
    y, task, class_list = encode_target(
        pd.Series(labels), "multiclass" if len(classes) > 2 else task, f"{root}", list(classes)
    )
    return Dataset(
        x=x,
        y=y,
        ids=np.asarray([p.relative_to(root).as_posix() for p in files], dtype=object),
        task=task,
        kind="image",
        classes=class_list,
        content_hash=whole.hexdigest(),
        description=str(root),
        input_hashes=hashes,
        files=np.asarray([str(p) for p in files], dtype=object),
        stream=stream,
        options={
            "input_shape": [height, width, channels],
            "image_size": [height, width],
            "channels": channels,
        },
    )


def decode(data: bytes, path: Path, size: tuple[int, int], color_mode: str) -> np.ndarray:
    """One image as float32 `(height, width, channels)` in [0, 255], resized bilinearly."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            converted = opened.convert("RGB" if color_mode == "rgb" else "L")
            resized = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(resized, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot decode the image ({exc})") from None
    return array[..., np.newaxis] if array.ndim == 2 else array
