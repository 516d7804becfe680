"""Training every gallery recipe one tiny epoch, in groups (one test file each: the test
runners spread files over workers, and one file of every recipe was the suite's long pole)."""

from __future__ import annotations

from pathlib import Path

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

# a recipe's group by the start of its name; any other recipe (a new table, text or multitask
# recipe) trains with the tables, so no gallery recipe goes untested
# (the first group that matches wins: the ResNet, about half of the digit recipes' time, is
# a group of its own)
GROUPS = {
    "resnet": ("digits-resnet",),
    "digits": ("digits-", "transfer-"),
    "vision": ("canvas-", "localize-", "landmarks-", "segment-", "glyphs-"),
    "sequences": ("reverse-", "digit-strings-", "trigger-", "sequence-tagging"),
}
OTHER = "tables"


def group_of(name: str) -> str:
    """The test group that trains the gallery recipe ``name``."""
    return next((group for group, starts in GROUPS.items() if name.startswith(starts)), OTHER)


def train_group(workdir: Path, group: str) -> dict[str, str]:
    """Train each gallery recipe of ``group`` one tiny epoch, untracked; its task by name."""
    trained = {}
    for entry in gallery_recipes():
        if group_of(entry.name) != group:
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
