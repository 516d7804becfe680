"""Every gallery recipe trains: one epoch on a fifth of its training set, all in one process
(TensorFlow is imported once), untracked. The recipes' full results are in their headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit import api
from dlkit.gallery import gallery_recipes

# overrides that keep each recipe's model and data but make the run tiny
TINY = ["train.epochs=1"]
TRAIN_FRACTION = 0.2
# beam search over every example of every set is most of a seq2seq epoch's time; the reversed
# words have at most 6 letters, and a one-epoch model that never says "end" runs to max_length
EXTRA = {
    "reverse-seq2seq": ["model.decoding.method=greedy", "model.decoding.max_length=8"],
    "canvas-yolo": ["data.source.n_images=150"],  # generated: fewer canvases, the same model
}


IMAGE_PREFIXES = ("digits-", "transfer-", "canvas-", "localize-", "landmarks-", "segment-", "glyphs-")


def is_image_recipe(name: str) -> bool:
    """The image recipes train here; the rest in test_gallery_train_others.py (two files: the
    test runners spread files over workers, and one file of every recipe was the suite's long pole)."""
    return name.startswith(IMAGE_PREFIXES)


def train_each(workdir: Path, *, images: bool) -> dict[str, str]:
    """Train each gallery recipe of the group one tiny epoch; its task by name."""
    trained = {}
    for entry in gallery_recipes():
        if is_image_recipe(entry.name) != images:
            continue
        overrides = [*TINY, *EXTRA.get(entry.name, []), f"tracking.runs_dir={workdir / 'runs'}"]
        recipe = api.load_recipe(entry.path, overrides)
        result = api.train(recipe, track=False, train_fraction=TRAIN_FRACTION)
        assert result.epochs_run == 1, entry.name
        assert 0 <= result.metrics["train"]["error"] <= 1, entry.name  # every task reports an error rate
        assert {"train", "dev", "test"} <= set(result.metrics), entry.name
        assert (result.run_dir / "model" / "model.keras").is_file(), entry.name
        trained[entry.name] = result.task
    return trained


@pytest.mark.slow
def test_every_image_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_each(workdir, images=True)
    assert {"digits-cnn", "digits-resnet", "digits-lenet5", "transfer-digits"} <= set(trained)
    assert trained["canvas-yolo"] == "detection"
    assert trained["localize-digits"] == "localization"
    assert trained["landmarks-triangles"] == "landmarks"
    assert trained["segment-shapes-unet"] == "segmentation"
    assert trained["glyphs-verification"] == "verification"
    assert set(trained.values()) == {
        "multiclass",
        "detection",
        "localization",
        "landmarks",
        "segmentation",
        "verification",
    }
