"""The tags MLflow sets on a run it starts itself (user, source, git), plus the library versions.

dlkit creates runs with :class:`~mlflow.tracking.MlflowClient`, which sets no context tags, so
they are added here: ``mlflow.user``, ``mlflow.source.name`` and ``mlflow.source.type`` as
MLflow's own context providers resolve them; ``mlflow.source.git.commit``, ``.branch`` and
``.repoURL`` of the working directory's repository (where the recipe is run from; MLflow would
look at the ``dlkit`` script's folder, which is no repository), read with ``git`` itself; and
the Python, TensorFlow, Keras and dlkit versions as ``dlkit.version.*``. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from dlkit import __version__

_GIT_TIMEOUT_S = 5


def _git(folder: Path, *args: str) -> str | None:
    """``git -C folder args`` output, or None (no git, not a repository, a detached HEAD's branch)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out and out != "HEAD" else None


def git_tags(folder: Path | None = None) -> dict[str, str]:
    """MLflow's git tags for the repository holding ``folder`` (the working directory by default);
    empty outside a repository."""
    from mlflow.utils.mlflow_tags import (
        MLFLOW_GIT_BRANCH,
        MLFLOW_GIT_COMMIT,
        MLFLOW_GIT_REPO_URL,
    )

    folder = folder or Path.cwd()
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return {}
    tags = {MLFLOW_GIT_COMMIT: commit}
    if branch := _git(folder, "rev-parse", "--abbrev-ref", "HEAD"):
        tags[MLFLOW_GIT_BRANCH] = branch
    if url := _git(folder, "remote", "get-url", "origin"):
        tags[MLFLOW_GIT_REPO_URL] = url
    return tags


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def version_tags() -> dict[str, str]:
    """``dlkit.version.{python,tensorflow,keras,mlflow}`` (read from the installed packages)."""
    versions = {
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"),
        "keras": _version("keras"),
        "mlflow": _version("mlflow") or _version("mlflow-skinny"),
    }
    return {f"dlkit.version.{k}": v for k, v in versions.items() if v}


_resolved: dict[Path, dict[str, str]] = {}  # per working directory: a run asks twice (run, model)


def system_tags() -> dict[str, str]:
    """User, source, git and versions: what a run started by dlkit is tagged with.

    Resolved once per working directory in a process (MLflow's context providers and ``git``
    take about a second between them, and nothing they read changes while a run trains).
    """
    folder = Path.cwd()
    if folder not in _resolved:
        from mlflow.tracking.context.git_context import GitRunContext
        from mlflow.tracking.context.registry import resolve_tags

        # git is read below, from the working directory (MLflow's provider would look at the
        # script's folder, with GitPython and three more git processes)
        # MLflow annotates ``ignore`` as providers but checks isinstance against classes
        ignore: list[Any] = [GitRunContext]
        tags = {str(k): str(v) for k, v in resolve_tags({}, ignore=ignore).items()}
        tags.update(git_tags(folder))
        tags.update(version_tags())
        tags["dlkit.version"] = __version__
        _resolved[folder] = tags
    return dict(_resolved[folder])
