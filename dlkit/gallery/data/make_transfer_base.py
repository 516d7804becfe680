"""Regenerate digits-0to4-cnn.keras: transfer-base.yaml trained by dlkit (untracked).

The model of that run (input normalisation included) is the base of transfer-digits.yaml.
Run: python recipes/data/make_transfer_base.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    from dlkit.recipe.loader import load_recipe
    from dlkit.training.trainer import train_recipe

    with tempfile.TemporaryDirectory() as runs:
        recipe = load_recipe(HERE.parent / "transfer-base.yaml", [f"tracking.runs_dir={runs}"])
        result = train_recipe(recipe, track=False)
        shutil.copy(Path(result.run_dir) / "model" / "model.keras", HERE / "digits-0to4-cnn.keras")
        print(result.metrics)
