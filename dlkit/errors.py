"""The one exception tree of dlkit.

Every error a user can act on derives from :class:`DlkitError`. The CLI prints its message on
one red line (plus the hint, if any) and exits with :attr:`DlkitError.exit_code`; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class DlkitError(Exception):
    """Base of every user-facing dlkit error.

    Args:
        message: what is wrong, in one line, naming the file, field, row or column.
        hint: optional next step for the user.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def lines(self) -> list[str]:
        """The message split into lines (a recipe error has one line per problem)."""
        return self.message.splitlines()


class RecipeError(DlkitError):
    """The recipe (or a ``--set`` override, or a command-line value) is invalid."""

    exit_code = 2


class DataError(DlkitError):
    """The data named by the recipe cannot be read, split or used."""


class BuildError(DlkitError):
    """A model, optimizer or schedule cannot be built from its spec and the data."""


class TrackingError(DlkitError):
    """The tracking store cannot be reached, or a run cannot be found in it."""


class UnsupportedRunError(DlkitError):
    """A command cannot read this kind of run (e.g. error analysis of a multi-task run)."""

    exit_code = 2


class RunNotFoundError(TrackingError):
    """A RUN argument names no run directory, MLflow run id or run name."""

    exit_code = 2
