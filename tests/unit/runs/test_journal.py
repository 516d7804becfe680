"""The decision journal: which earlier run a recipe comes from, and the verdicts recorded on a run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from dlkit.rundir import RunDir
from dlkit.runs.journal import Derivation, Verdict, derivation_for, read_verdicts
from dlkit.tuning.study import StudyDir, TrialRecord


def _recipe(corrections: Path | None = None) -> SimpleNamespace:
    return SimpleNamespace(data=SimpleNamespace(corrections=corrections))


def _run(path: Path, run_id: str | None = "abc123") -> RunDir:
    run = RunDir(path)
    run.update_info(run_name=path.name, run_id=run_id, status="FINISHED")
    return run


def test_from_names_the_earlier_run(workdir: Path) -> None:
    _run(workdir / "runs" / "first")
    found = derivation_for(workdir / "r.yaml", _recipe(), "first")  # type: ignore[arg-type]
    assert found == Derivation("abc123", "first", str((workdir / "runs" / "first").resolve()), "--from")
    assert found.tags() == {
        "dlkit.derived_from": "abc123",
        "dlkit.derived_from.name": "first",
        "dlkit.derived_from.via": "--from",
    }


def test_a_studys_best_yaml_links_to_its_best_trial(workdir: Path) -> None:
    study = StudyDir(workdir / "study")
    study.update_info(direction="max")
    for name, objective in (("r1-t0", 0.7), ("r1-t1", 0.9)):
        study.write_record(TrialRecord(name, 1, name, "COMPLETED", {}, objective=objective, feasible=True))
        _run(study.trial_dir(name), run_id=f"id-{name}")
    found = derivation_for(study.best_recipe_path, _recipe(), None)  # type: ignore[arg-type]
    assert found is not None and (found.run_id, found.via) == ("id-r1-t1", "best.yaml")


def test_a_corrections_file_written_in_a_run_links_to_that_run(workdir: Path) -> None:
    _run(workdir / "runs" / "first")
    corrections = workdir / "runs" / "first" / "analysis" / "corrections.csv"
    found = derivation_for(workdir / "r.yaml", _recipe(corrections), None)  # type: ignore[arg-type]
    assert found is not None and (found.run_name, found.via) == ("first", "corrections")
    assert derivation_for(workdir / "r.yaml", _recipe(workdir / "mine.csv"), None) is None  # type: ignore[arg-type]


def test_an_untracked_earlier_run_gives_no_tags() -> None:
    assert Derivation(None, "first", "/x", "--from").tags() == {}


def test_verdicts_are_read_from_the_journal_file_else_from_tags(workdir: Path) -> None:
    run = _run(workdir / "r")
    verdict = Verdict("diagnosis", "variance", "more training data", details={"metric": "accuracy"})
    (run.path / "journal").mkdir()
    (run.path / "journal" / "diagnosis.json").write_text(json.dumps(verdict.to_dict()))
    tags = {"dlkit.error_analysis": "blurry errors", "dlkit.error_analysis.action": "fix blur"}
    found = read_verdicts(run, tags)
    assert found["diagnosis"]["details"] == {"metric": "accuracy"}
    assert found["error_analysis"] == {
        "kind": "error_analysis",
        "problem": "blurry errors",
        "action": "fix blur",
    }
    assert verdict.tags() == {"dlkit.diagnosis": "variance", "dlkit.diagnosis.action": "more training data"}
