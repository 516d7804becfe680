"""Every gallery recipe that is not an image recipe trains one tiny epoch (tables, sequences,
text, seq2seq, multi-task); the image recipes are in test_gallery_train.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_gallery_train import train_each


@pytest.mark.slow
def test_every_other_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_each(workdir, images=False)
    assert trained["multitask"] == "multitask"
    assert trained["reverse-seq2seq"] == "seq2seq"
    assert trained["digit-strings-ctc"] == "ctc"
    assert trained["trigger-word"] == "trigger_word"
    assert trained["sequence-tagging-lstm"] == "sequence_labeling"
    assert trained["shift-target"] == "binary"
    assert {"cancer-logistic", "cancer-mlp", "cancer-deep-mlp", "reviews-transformer"} <= set(trained)
