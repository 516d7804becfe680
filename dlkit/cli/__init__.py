"""Command-line interface (Typer). Importing it loads neither TensorFlow nor MLflow."""

from dlkit.cli._help_render import defer_help_extras

defer_help_extras()

from dlkit.cli.main import app  # noqa: E402 (after the help renderer's imports are deferred)

__all__ = ["app"]
