"""The table, text and multi-task recipes of the gallery, and any recipe no other group takes,
train one tiny epoch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._gallery import train_group


@pytest.mark.slow
def test_every_table_and_text_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_group(workdir, "tables")
    assert trained["multitask"] == "multitask"
    assert trained["shift-target"] == "binary"
    assert {"cancer-logistic", "cancer-mlp", "cancer-deep-mlp", "reviews-transformer"} <= set(trained)
