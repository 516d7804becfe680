"""The error for a model spec that cannot work with the data: a usage error (exit code 2)."""

from __future__ import annotations

from dlkit.errors import BuildError


class ModelError(BuildError):
    """The model section cannot be built for this data (shapes, sizes, files it names).

    Found before any training; like a recipe error, the user fixes the recipe (exit code 2).
    """

    exit_code = 2
