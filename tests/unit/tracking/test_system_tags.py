"""System tags: git of the working directory, read with git itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlkit.tracking.system_tags import git_tags, system_tags


def test_git_tags_name_the_commit_and_branch_of_a_repository(tmp_path: Path) -> None:
    if subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no git")
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(tmp_path)], check=True)
    (tmp_path / "recipe.yaml").write_text("name: x\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *env, "commit", "-qm", "one"], check=True)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_tags(tmp_path) == {"mlflow.source.git.commit": head, "mlflow.source.git.branch": "trunk"}


def test_no_git_tags_outside_a_repository(tmp_path: Path) -> None:
    assert git_tags(tmp_path) == {}


def test_system_tags_hold_user_source_and_versions(workdir: Path) -> None:
    tags = system_tags()
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert {"dlkit.version.python", "dlkit.version.keras", "dlkit.version"} <= set(tags)


def test_git_tags_come_from_the_working_directory_not_the_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script's repository (MLflow's own git provider would read it) tags nothing: the
    recipe is run from the working directory, here no repository."""
    if subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no git")
    script_repo, elsewhere = tmp_path / "tool", tmp_path / "work"
    elsewhere.mkdir()
    subprocess.run(["git", "init", "-q", str(script_repo)], check=True)
    (script_repo / "main.py").write_text("")
    subprocess.run(["git", "-C", str(script_repo), "add", "."], check=True)
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "-C", str(script_repo), *env, "commit", "-qm", "one"], check=True)
    monkeypatch.setattr("sys.argv", [str(script_repo / "main.py")])
    monkeypatch.chdir(elsewhere)
    assert not any(key.startswith("mlflow.source.git") for key in system_tags())
