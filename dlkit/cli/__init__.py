"""Command-line interface (Typer). Importing it loads neither TensorFlow nor MLflow."""

from dlkit.cli.main import app

__all__ = ["app"]
