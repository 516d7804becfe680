"""The digit recipes of the gallery train one tiny epoch (the recipes' full results are in their
headers); the other groups are in the test_gallery_train_*.py files beside this one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._gallery import train_group


@pytest.mark.slow
def test_every_digits_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_group(workdir, "digits")
    assert {"digits-cnn", "digits-lenet5", "transfer-digits"} <= set(trained)
    assert set(trained.values()) == {"multiclass"}
