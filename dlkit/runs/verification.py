"""A verification run on images a person gives: ``dlkit verify`` and ``dlkit identify``.

Both embed images with the run's model (each image read as the run's images were: resized to
its input size, grey or colour as its channels say, pixels in [0, 255]) and compare distances
with the run's threshold τ (chosen on dev after training, stored in its metrics): Euclidean for a
triplet-loss run, L1 of the weighted embeddings for a pair classifier (its logit is β − distance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from dlkit.errors import DataError, UnsupportedRunError
from dlkit.rundir import RunDir

if TYPE_CHECKING:
    from dlkit.tasks.verification import Verification


@dataclass
class VerifyResult:
    """Two images compared: their distance, the run's τ, and the verdict (distance ≤ τ)."""

    run_name: str
    images: tuple[str, str]
    distance: float
    threshold: float
    same: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_name,
            "images": list(self.images),
            "distance": self.distance,
            "threshold": self.threshold,
            "same": self.same,
        }


@dataclass
class IdentifyResult:
    """An image against a gallery: the nearest identity, or None ("unknown") above τ.

    Attributes:
        ranking: each gallery identity and its distance (to its nearest image), nearest first.
    """

    run_name: str
    image: str
    identity: str | None
    distance: float
    threshold: float
    ranking: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_name,
            "image": self.image,
            "identity": self.identity,
            "distance": self.distance,
            "threshold": self.threshold,
            "ranking": [{"identity": k, "distance": d} for k, d in self.ranking],
        }


@dataclass
class _Encoder:
    name: str
    model: Any
    input_shape: tuple[int, int, int]
    threshold: float
    task: Any  # the run's Verification task, configured by its recipe (its distance)

    def embed(self, paths: list[Path]) -> np.ndarray:
        from dlkit.data.images import decode

        h, w, c = self.input_shape
        mode = "rgb" if c == 3 else "grayscale"
        images = []
        for path in paths:
            if not path.is_file():
                raise DataError(f"{path}: image not found")
            images.append(decode(path.read_bytes(), path, (h, w), mode).reshape(h, w, c))
        return np.asarray(self.model.predict(np.stack(images), verbose=0), dtype=np.float64)


def _encoder(run: RunDir) -> _Encoder:
    from dlkit.runs.inference import _finished, _load_model
    from dlkit.tasks import TASKS

    info, name = _finished(run)
    if info.get("task") not in TASKS or not TASKS.get(str(info["task"])).verifies:
        raise UnsupportedRunError(
            f"run '{name}': verify and identify read a verification run "
            f"(this one's task is {info.get('task')})"
        )
    shape = tuple(int(d) for d in info.get("input_shape") or ())
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise UnsupportedRunError(f"run '{name}': its model does not take images (input shape {shape})")
    from dlkit.recipe.loader import load_recipe

    try:
        restored = TASKS.get(str(info["task"])).restored(load_recipe(run.recipe_path), run.metrics())
        task = cast("Verification", restored)
    except UnsupportedRunError:
        raise UnsupportedRunError(f"run '{name}': no threshold in its metrics ({run.metrics_path})") from None
    assert task.threshold is not None  # restored() sets it or raises
    return _Encoder(name, _load_model(run), (shape[0], shape[1], shape[2]), task.threshold, task)


def verify_images(run: RunDir, first: Path, second: Path) -> VerifyResult:
    """Whether two images show the same identity, by the run's model and τ.

    Raises:
        UnsupportedRunError: not a finished verification run on images.
        DataError: an image is missing or not a PNG/JPEG.
    """
    encoder = _encoder(run)
    e = encoder.embed([first, second])
    distance = float(encoder.task.distances(e[1:], e[0])[0])
    return VerifyResult(
        encoder.name, (str(first), str(second)), distance, encoder.threshold, distance <= encoder.threshold
    )


def identify_image(run: RunDir, image: Path, gallery: Path) -> IdentifyResult:
    """The gallery identity nearest to ``image`` (one sub-folder of images per identity), or
    None when even the nearest is farther than the run's τ.

    Raises:
        UnsupportedRunError: not a finished verification run on images.
        DataError: a missing image, or a gallery that is not one folder of images per identity.
    """
    from dlkit.data.images import ImageFolderSource, list_images

    encoder = _encoder(run)
    h, w, _ = encoder.input_shape
    files, labels, _ = list_images(ImageFolderSource(path=gallery, image_size=(h, w)), gallery)
    assert labels is not None  # labels="train": every image sits in an identity's folder
    e = encoder.embed([image, *files])
    distances = encoder.task.distances(e[1:], e[0])
    best: dict[str, float] = {}
    for label, d in zip(labels, distances, strict=True):
        best[label] = min(best.get(label, np.inf), float(d))
    ranking = sorted(best.items(), key=lambda item: item[1])
    nearest, distance = ranking[0]
    identity = nearest if distance <= encoder.threshold else None
    return IdentifyResult(encoder.name, str(image), identity, distance, encoder.threshold, ranking)
