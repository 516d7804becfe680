"""The sequence recipes of the gallery (seq2seq, CTC, trigger word, sequence tagging) train one
tiny epoch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._gallery import train_group


@pytest.mark.slow
def test_every_sequence_gallery_recipe_trains_one_epoch(workdir: Path) -> None:
    trained = train_group(workdir, "sequences")
    assert trained["reverse-seq2seq"] == "seq2seq"
    assert trained["digit-strings-ctc"] == "ctc"
    assert trained["trigger-word"] == "trigger_word"
    assert trained["sequence-tagging-lstm"] == "sequence_labeling"
