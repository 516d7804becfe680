"""The gallery's ResNet on the digits trains one tiny epoch (a file of its own: building and
tracing it is as long as all the other digit recipes together)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._gallery import train_group


@pytest.mark.slow
def test_the_resnet_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    assert train_group(workdir, "resnet") == {"digits-resnet": "multiclass"}
