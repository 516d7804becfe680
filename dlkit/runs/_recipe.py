"""The recipe a finished run stored (``recipe.yaml``), read as a plain dict for its reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlkit.rundir import RunDir


def read_recipe(run: RunDir) -> dict[str, Any]:
    """The run's recipe.yaml (``safe_load`` semantics, libyaml's parser where there is one:
    a tenth of the pure-Python one's time); ``{}`` when absent or not a mapping."""
    if not run.recipe_path.is_file():
        return {}
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(run.recipe_path.read_text(encoding="utf-8"), Loader=loader)
    return data if isinstance(data, dict) else {}
