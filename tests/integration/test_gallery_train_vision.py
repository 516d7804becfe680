"""The vision-system recipes of the gallery (detection, localization, landmarks, segmentation,
verification) train one tiny epoch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._gallery import train_group


@pytest.mark.slow
def test_every_vision_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_group(workdir, "vision")
    assert trained["canvas-yolo"] == "detection"
    assert trained["localize-digits"] == "localization"
    assert trained["landmarks-triangles"] == "landmarks"
    assert trained["segment-shapes-unet"] == "segmentation"
    assert trained["glyphs-verification"] == "verification"
