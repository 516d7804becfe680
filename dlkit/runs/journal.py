"""The decision journal: what a report concluded about a run, and which run followed from it.

``dlkit diagnose`` and ``dlkit analyze-errors`` record their verdict on the run they read: the
main problem and the recommended action as MLflow tags (``dlkit.diagnosis``,
``dlkit.diagnosis.action``; ``dlkit.error_analysis``, ``dlkit.error_analysis.action``) and the
whole verdict as a small JSON file, ``journal/<kind>.json``, in the run directory and among the
run's artifacts. A run trained from a recipe derived from an earlier run (``dlkit train --from
RUN``, a study's ``best.yaml``, a corrections file an analysis wrote) carries
``dlkit.derived_from`` (the earlier run's MLflow id) and says how it was derived; ``dlkit runs
show`` follows these links into a chain: diagnosis -> action -> next run -> its result.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.rundir import RunDir, write_json

if TYPE_CHECKING:
    from dlkit.recipe.schema import Recipe
    from dlkit.runs.analyze_errors import AnalyzeErrorsResult
    from dlkit.runs.diagnose import RunDiagnosis

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
KINDS = ("diagnosis", "error_analysis")
DERIVED_FROM = "dlkit.derived_from"
_MAX_TAG = 5000  # MLflow's limit on a tag value is 8000; a verdict is a line


@dataclass
class Verdict:
    """What one report concluded about a run.

    Attributes:
        kind: ``diagnosis`` (dlkit diagnose) or ``error_analysis`` (dlkit analyze-errors).
        problem: the main problem, in a few words (``variance``, ``none``).
        action: what to do next, in a line.
        at: when it was recorded (UTC, ISO 8601).
        details: the figures behind it (gaps, ceilings), JSON-ready.
    """

    kind: str
    problem: str
    action: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    details: dict[str, Any] = field(default_factory=dict)

    def tags(self) -> dict[str, str]:
        """The MLflow tags that carry it."""
        return {
            f"dlkit.{self.kind}": self.problem[:_MAX_TAG],
            f"dlkit.{self.kind}.action": self.action[:_MAX_TAG],
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnosis_verdict(diagnosis: RunDiagnosis) -> Verdict:
    """The verdict of ``dlkit diagnose``: the largest clear gap and its first knob.

    A multitask run's problem names each task's (``task a: variance; task b: none``).
    """
    problems, actions, details = [], [], {}
    for part, result in diagnosis.diagnoses():
        problem = result.verdict or "none"
        action = result.actions[result.verdict][0] if result.verdict else "no clear gap: keep the model"
        problems.append(problem if part is None else f"task {part}: {problem}")
        actions.append(action if part is None else f"task {part}: {action}")
        details[part or "run"] = {
            "verdict": result.verdict,
            "problems": result.problems,
            "gaps": {
                g.name: {"value": g.value, "low": g.low, "high": g.high, "status": g.status}
                for g in result.gaps
            },
            "sets": {name: s.error for name, s in result.sets.items()},
            "human_error": result.human_error,
        }
    return Verdict(
        "diagnosis", "; ".join(problems), "; ".join(actions), details={"metric": diagnosis.metric, **details}
    )


def error_analysis_verdict(result: AnalyzeErrorsResult) -> Verdict:
    """The verdict of ``dlkit analyze-errors``: the tagged category with the highest ceiling,
    else the suspected label errors, else the dev error and the sheet left to tag."""
    details: dict[str, Any] = {"set": result.set_name}
    errors = result.dev_errors
    if errors is not None:
        details.update(dict(zip(("n", "n_errors", "error"), errors, strict=True)))
    categories = result.categories
    if categories is not None and categories.categories:
        top = max(categories.categories, key=lambda c: c.ceiling)
        details["ceilings"] = {c.name: c.ceiling for c in categories.categories}
        problem = f"{top.name} errors (ceiling {top.ceiling:.2%})"
        action = (
            f"work on '{top.name}' errors first: fixing them all lowers dev error by up to {top.ceiling:.2%}"
        )
        return Verdict("error_analysis", problem, action, details=details)
    issues = result.label_issues
    if issues is not None and issues.issues:
        details["label_issues"] = len(issues.issues)
        return Verdict(
            "error_analysis",
            f"{len(issues.issues)} suspected label errors",
            "review them and apply the corrections (dlkit analyze-errors --apply-corrections)",
            details=details,
        )
    if result.sheet_path is not None and result.n_sampled:
        return Verdict(
            "error_analysis",
            f"{result.n_sampled} dev errors sampled, not yet tagged",
            f"tag the sheet ({result.sheet_path}) and read it back with --tags",
            details=details,
        )
    return Verdict("error_analysis", "none", "no error to analyse", details=details)


def record_verdict(run: RunDir, verdict: Verdict, run_id: str | None, tracking_uri: str | None) -> None:
    """Write ``journal/<kind>.json`` into the run directory; tag and log it on the MLflow run.

    Raises:
        TrackingError: the store cannot be reached or the run is not in it (the file is written).
    """
    path = run.path / JOURNAL_DIR / f"{verdict.kind}.json"
    write_json(path, verdict.to_dict())
    if run_id and tracking_uri:
        from dlkit.tracking.mlflow_tracker import MLflowStore

        store = MLflowStore(tracking_uri)
        store.set_tags(run_id, verdict.tags())
        store.log_artifact(run_id, path, JOURNAL_DIR)


def read_verdicts(run: RunDir | None, tags: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The verdicts recorded on a run: from its journal files, else from its MLflow tags."""
    found: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        path = run.path / JOURNAL_DIR / f"{kind}.json" if run is not None else None
        if path is not None and path.is_file():
            import json

            found[kind] = dict(json.loads(path.read_text(encoding="utf-8")))
        elif tags and f"dlkit.{kind}" in tags:
            found[kind] = {
                "kind": kind,
                "problem": tags[f"dlkit.{kind}"],
                "action": tags.get(f"dlkit.{kind}.action", ""),
            }
    return found


@dataclass
class Derivation:
    """The earlier run a new run's recipe comes from.

    Attributes:
        run_id: its MLflow run id (None when it was not tracked).
        run_name: its name.
        run_dir: its run directory.
        via: how the recipe was derived: ``--from``, ``best.yaml`` (of a study) or
            ``corrections`` (the recipe's data.corrections file was written from that run).
    """

    run_id: str | None
    run_name: str
    run_dir: str
    via: str

    def tags(self) -> dict[str, str]:
        """The MLflow tags of the new run that link back (none without an MLflow id)."""
        if not self.run_id:
            return {}
        return {
            DERIVED_FROM: self.run_id,
            f"{DERIVED_FROM}.name": self.run_name,
            f"{DERIVED_FROM}.via": self.via,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _derivation(run: RunDir, via: str) -> Derivation:
    info = run.info()
    return Derivation(
        info.get("run_id"), str(info.get("run_name") or run.path.name), str(run.path.resolve()), via
    )


def derivation_for(
    recipe_path: Path | None,
    recipe: Recipe,
    from_run: str | None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> Derivation | None:
    """Which earlier run a recipe about to be trained comes from, if any.

    ``from_run`` (``--from``) wins; else a study's ``best.yaml`` links to the study's best trial;
    else a ``data.corrections`` file inside a run directory (what ``analyze-errors
    --apply-corrections`` writes) links to that run.

    Raises:
        RunNotFoundError: ``from_run`` matches no run.
    """
    from dlkit.tracking.resolve import resolve_run

    if from_run is not None:
        return _derivation(resolve_run(from_run, runs_dir, tracking_uri), "--from")
    if recipe_path is not None and (recipe_path.parent / "study.json").is_file():
        from dlkit.tuning.study import best_trial_dir

        try:
            return _derivation(RunDir.open(best_trial_dir(recipe_path.parent)), "best.yaml")
        except Exception as exc:  # a study without a finished trial: nothing to link
            log.info("%s: no best trial to link: %s", recipe_path, exc)
    corrections = recipe.data.corrections
    if corrections is not None:
        for folder in list(Path(corrections).resolve().parents)[:3]:
            if (folder / "run.json").is_file():
                return _derivation(RunDir(folder), "corrections")
    return None
