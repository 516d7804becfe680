"""``dlkit tune preview``: draw each dimension as the search will, and flag likely mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlkit.recipe.schema import Recipe
from dlkit.tuning.space import Dimension, sample_configurations, warnings_for


@dataclass
class PreviewResult:
    """Draws per dimension (active draws only for conditional ones) and warnings."""

    strategy: str
    trials: int
    rounds: int
    dims: list[Dimension]
    samples: dict[str, list[Any]]
    n: int
    warnings: list[str] = field(default_factory=list)


def preview_space(recipe: Recipe, source: str, n: int = 2000) -> PreviewResult:
    """Check the space like ``dlkit tune`` does and draw ``n`` configurations from it.

    Raises:
        RecipeError: no tune section, or a space that cannot work (see :func:`check_space`).
    """
    from dlkit.errors import RecipeError
    from dlkit.tuning.checks import check_space

    if recipe.tune is None:
        raise RecipeError(f"{source}: tune: missing; add a tune section with a space to search")
    dims = check_space(recipe, source)
    seed = recipe.tune.seed if recipe.tune.seed is not None else recipe.seed
    configs = sample_configurations(dims, n, seed)
    samples = {d.path: [c[d.path] for c in configs if d.path in c] for d in dims}
    return PreviewResult(
        recipe.tune.strategy,
        recipe.tune.trials,
        recipe.tune.rounds,
        dims,
        samples,
        n,
        warnings_for(dims, recipe.tune),
    )
