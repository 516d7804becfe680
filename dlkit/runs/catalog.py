"""The runs catalog: every run of the MLflow store and of the local run directories, in one view.

MLflow knows what was tracked (ids, experiments, nesting, params, final metrics); a run
directory knows whether its process still lives (:func:`dlkit.rundir.run_state`): a run whose
process died keeps ``RUNNING`` in MLflow forever, and only its run directory tells it is DEAD.
A run is listed once, by its MLflow id when it has one, with the run directory's status.

``list_runs`` filters and sorts them; ``show_run`` gathers one run's params, metrics per set,
tags, artifacts, verdicts and decision chain (:mod:`dlkit.runs.journal`); ``compare_runs``
lines several up; ``delete_runs`` deletes them the way MLflow does (lifecycle ``deleted``).
MLflow is read only through :class:`~dlkit.tracking.mlflow_tracker.MLflowStore`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import RecipeError, RunNotFoundError, TrackingError
from dlkit.rundir import RunDir, run_state
from dlkit.runs.journal import DERIVED_FROM, read_verdicts
from dlkit.training.lifecycle import COUNT_KEYS

if TYPE_CHECKING:
    from dlkit.tracking.mlflow_tracker import MLflowStore

#: The sets a final metric is logged for, as ``<set>_<metric>`` (train_dev before train).
SETS: tuple[str, ...] = ("train", "train_dev", "dev", "test")
STATUSES: tuple[str, ...] = ("RUNNING", "FINISHED", "FAILED", "KILLED", "DEAD")
_SEARCH_MAX = 50_000  # MLflow's largest page
_KEY_METRICS = ("accuracy", "mse", "mae", "loss")
# tags a person reads; the rest (MLflow's run name, model history) repeat what is shown
_TAG_PREFIXES = ("dlkit.", "mlflow.parentRunId", "mlflow.user", "mlflow.source.", "mlflow.note.")


def split_metric(key: str) -> tuple[str, str] | None:
    """``dev_accuracy`` -> ``("dev", "accuracy")``; None for a key that names no set."""
    for name in ("train_dev", "train", "dev", "test"):
        if key.startswith(f"{name}_") and len(key) > len(name) + 1:
            return name, key[len(name) + 1 :]
    return None


def by_set(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """Final metrics (``<set>_<metric>``) grouped per set, in set order."""
    out: dict[str, dict[str, float]] = {s: {} for s in SETS}
    for key, value in sorted(metrics.items()):
        parts = split_metric(key)
        if parts is not None:
            out[parts[0]][parts[1]] = value
    return {s: m for s, m in out.items() if m}


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if start is None:
        return None
    stop = datetime.fromisoformat(end) if end else datetime.now(UTC)
    return max(0.0, (stop - datetime.fromisoformat(start)).total_seconds())


@dataclass
class RunEntry:
    """One run as the catalog shows it.

    Attributes:
        run_id: its MLflow run id (None for an untracked run).
        name: its run name.
        experiment: its MLflow experiment (or the one run.json names).
        status: RUNNING, FINISHED, FAILED, KILLED, or DEAD (RUNNING, but its process is gone).
        tracked_status: what MLflow says (None when untracked).
        start: when it started (UTC, ISO 8601).
        end: when it ended, or its last heartbeat for a DEAD run.
        duration_s: end - start (up to now for a live run).
        metrics: the final metrics, ``<set>_<metric>`` -> value, as MLflow stores them.
        recipe: the recipe's name.
        kind: run, study, round or trial.
        parent_id: the MLflow run it is nested in (a trial's round, a round's study).
        study: a study's, round's or trial's study id.
        trial: a trial's name.
        run_dir: its run directory, when there is one here.
        optimize: the optimizing metric.
        resume: the command that continues it (DEAD or KILLED runs).
        derived_from: the MLflow id of the run it was derived from (the decision journal).
        depth: nesting depth in a listing (0 at the top).
    """

    run_id: str | None
    name: str
    experiment: str | None
    status: str
    tracked_status: str | None = None
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    recipe: str | None = None
    kind: str = "run"
    parent_id: str | None = None
    study: str | None = None
    trial: str | None = None
    run_dir: str | None = None
    optimize: str | None = None
    resume: str | None = None
    derived_from: str | None = None
    depth: int = 0

    def metrics_by_set(self) -> dict[str, dict[str, float]]:
        return by_set(self.metrics)

    def key_metric(self) -> str | None:
        """The metric a listing shows per set: the optimizing one, else the first usual one."""
        names = {m for per_set in self.metrics_by_set().values() for m in per_set}
        if self.optimize and self.optimize in names:
            return self.optimize
        return next((m for m in _KEY_METRICS if m in names), None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = self.metrics_by_set()
        return out


def _entry_from_mlflow(run: Any, experiments: dict[str, str]) -> RunEntry:
    info, tags = run.info, run.data.tags
    start, end = _iso_ms(info.start_time), _iso_ms(info.end_time)
    return RunEntry(
        run_id=str(info.run_id),
        name=str(info.run_name or tags.get("mlflow.runName") or info.run_id),
        experiment=experiments.get(str(info.experiment_id), str(info.experiment_id)),
        status=str(info.status),
        tracked_status=str(info.status),
        start=start,
        end=end,
        duration_s=_seconds_between(start, end) if end or info.status == "RUNNING" else None,
        metrics={k: float(v) for k, v in run.data.metrics.items()},
        recipe=tags.get("dlkit.recipe"),
        kind=tags.get("dlkit.kind", "run"),
        parent_id=tags.get("mlflow.parentRunId"),
        study=tags.get("dlkit.study"),
        trial=tags.get("dlkit.trial"),
        run_dir=tags.get("dlkit.run_dir"),
        optimize=run.data.params.get("metrics.optimize") or None,
        derived_from=tags.get(DERIVED_FROM),
    )


def _local_metrics(run: RunDir) -> dict[str, float]:
    if not run.metrics_path.is_file():
        return {}
    try:
        stored = run.metrics()
    except (OSError, ValueError):
        return {}
    return {
        f"{s}_{k}": float(v)
        for s, values in stored.items()
        for k, v in values.items()
        if isinstance(v, int | float) and k not in COUNT_KEYS
    }


def _apply_local(entry: RunEntry, run: RunDir, info: dict[str, Any]) -> RunEntry:
    """The run directory's view over MLflow's: its live status, and what MLflow lacks."""
    status = run_state(run)
    entry.status = status
    entry.run_dir = str(run.path.resolve())
    entry.start = entry.start or info.get("started")
    if status in ("RUNNING", "DEAD") or not entry.end:
        end = info.get("finished") or (info.get("heartbeat") if status != "RUNNING" else None)
        entry.end = end if status != "RUNNING" else None
        entry.duration_s = _seconds_between(entry.start, entry.end)
    entry.recipe = entry.recipe or info.get("recipe_name")
    entry.experiment = entry.experiment or info.get("experiment")
    entry.optimize = info.get("optimize") or entry.optimize
    entry.metrics = entry.metrics or _local_metrics(run)
    derived = info.get("derived_from")
    if entry.derived_from is None and isinstance(derived, dict):
        entry.derived_from = derived.get("run_id")
    if status in ("DEAD", "KILLED") and entry.kind == "run":
        entry.resume = f"dlkit train --resume {entry.run_dir}"
    return entry


def _entry_from_local(run: RunDir, info: dict[str, Any]) -> RunEntry:
    entry = RunEntry(
        run_id=info.get("run_id"),
        name=str(info.get("run_name") or run.path.name),
        experiment=info.get("experiment"),
        status=str(info.get("status", "RUNNING")),
    )
    return _apply_local(entry, run, info)


def open_store(uri: str | None) -> MLflowStore | None:
    """The MLflow store at ``uri``, or None for a SQLite file that does not exist (no store made)."""
    from dlkit.tracking.base import resolve_tracking_uri

    resolved = resolve_tracking_uri(uri)
    prefix = "sqlite:///"
    if resolved.startswith(prefix) and not Path(resolved[len(prefix) :].partition("?")[0]).is_file():
        return None
    from dlkit.tracking.mlflow_tracker import MLflowStore

    return MLflowStore(resolved)


def _local_runs(runs_dir: Path) -> Iterable[tuple[RunDir, dict[str, Any]]]:
    """Run directories under ``runs_dir`` (trials of studies too; not MLflow's downloads)."""
    if not runs_dir.is_dir():
        return
    for path in sorted(runs_dir.rglob("run.json")):
        rel = path.relative_to(runs_dir).parts
        if any(p.startswith(".") for p in rel) or len(rel) > 4:
            continue
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and not info.get("deleted"):
            yield RunDir(path.parent), info


def _experiments(store: MLflowStore) -> dict[str, str]:
    found = store.query("experiments", "search_experiments")
    return {str(e.experiment_id): str(e.name) for e in found}


def _search(store: MLflowStore, experiment_ids: list[str], filter_string: str = "") -> list[Any]:
    if not experiment_ids:
        return []
    return list(
        store.query(
            "search runs",
            "search_runs",
            experiment_ids,
            filter_string=filter_string,
            order_by=["attributes.start_time DESC"],
            max_results=_SEARCH_MAX,
        )
    )


def collect_runs(runs_dir: str | Path = "runs", tracking_uri: str | None = None) -> list[RunEntry]:
    """Every active MLflow run and every local run directory, each once.

    A run directory of an MLflow run gives it its status (DEAD when its process is gone); one
    MLflow does not know (untracked, or another store) is listed on its own.
    """
    local = {str(run.path.resolve()): (run, info) for run, info in _local_runs(Path(runs_dir))}
    by_id = {info["run_id"]: key for key, (_, info) in local.items() if info.get("run_id")}
    entries: list[RunEntry] = []
    store = open_store(tracking_uri)
    if store is not None:
        experiments = _experiments(store)
        for run in _search(store, list(experiments)):
            entry = _entry_from_mlflow(run, experiments)
            key = by_id.get(entry.run_id) or entry.run_dir
            if key in local:
                run_dir, info = local.pop(key)
                entry = _apply_local(entry, run_dir, info)
            elif entry.run_dir and (Path(entry.run_dir) / "run.json").is_file():
                run_dir = RunDir(Path(entry.run_dir))
                entry = _apply_local(entry, run_dir, run_dir.info())
            entries.append(entry)
    entries.extend(_entry_from_local(run, info) for run, info in local.values())
    return entries


# -- filters and sorting ----------------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "!=": lambda a, b: a != b,
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
_FILTER = re.compile(r"^\s*([A-Za-z0-9_.\-/ ]+?)\s*(>=|<=|!=|==|=|>|<)\s*(\S+)\s*$")


def metric_key(name: str) -> str:
    """``dev.accuracy`` (or ``train-dev.loss``) -> the MLflow key ``dev_accuracy``; others as given."""
    head, dot, tail = name.partition(".")
    head = head.replace("-", "_")
    if dot and head in SETS and tail:
        return f"{head}_{tail}"
    return name


@dataclass(frozen=True)
class MetricFilter:
    """``dev.accuracy>0.9``: a run passes when it has the metric and the comparison holds."""

    key: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> MetricFilter:
        """Raises: RecipeError: not ``SET.METRIC OP NUMBER``."""
        match = _FILTER.match(text)
        value = None
        if match:
            try:
                value = float(match.group(3))
            except ValueError:
                value = None
        if match is None or value is None:
            raise RecipeError(
                f'--metric: expected SET.METRIC OP NUMBER, e.g. "dev.accuracy>0.9" (got {text!r})',
                hint="OP is one of > >= < <= = !=; SET is train, train-dev, dev or test",
            )
        return cls(metric_key(match.group(1)), match.group(2), value)

    def passes(self, entry: RunEntry) -> bool:
        value = entry.metrics.get(self.key)
        return value is not None and math.isfinite(value) and _OPS[self.op](value, self.value)


_SORT_FIELDS = ("start", "name", "duration", "status", "experiment")


def _sorter(sort: str) -> tuple[Callable[[RunEntry], Any], bool]:
    """``KEY[:asc|:desc]`` -> (key function, descending). KEY: a field or a metric."""
    key, _, direction = sort.partition(":")
    key = key.strip()
    if direction not in ("", "asc", "desc"):
        raise RecipeError(f"--sort: expected KEY, KEY:asc or KEY:desc (got {sort!r})")
    if key in _SORT_FIELDS:
        text_field = key in ("name", "status", "experiment")
        descending = direction == "desc" if direction else not text_field

        def field_value(e: RunEntry) -> Any:
            return getattr(e, "duration_s" if key == "duration" else key)

        return field_value, descending
    if not key:
        raise RecipeError(
            f"--sort: expected one of {', '.join(_SORT_FIELDS)} or a metric such as dev.accuracy"
        )
    mkey = metric_key(key)
    return (lambda e: e.metrics.get(mkey)), direction != "asc"


def _sort(entries: list[RunEntry], sort: str) -> list[RunEntry]:
    key, descending = _sorter(sort)
    known = [e for e in entries if key(e) is not None]
    missing = [e for e in entries if key(e) is None]  # always last, whatever the direction
    return sorted(known, key=key, reverse=descending) + missing


def _nest(entries: list[RunEntry]) -> list[RunEntry]:
    """Children right under their parent (when listed), indented by depth; order otherwise kept."""
    ids = {e.run_id for e in entries if e.run_id}
    children: dict[str, list[RunEntry]] = {}
    roots = []
    for entry in entries:
        if entry.parent_id and entry.parent_id in ids:
            children.setdefault(entry.parent_id, []).append(entry)
        else:
            roots.append(entry)
    out: list[RunEntry] = []

    def walk(entry: RunEntry, depth: int) -> None:
        entry.depth = depth
        out.append(entry)
        for child in children.get(entry.run_id or "", []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return out


@dataclass
class RunList:
    """A filtered, sorted listing.

    Attributes:
        runs: the runs shown, children under their parents.
        n_matching: runs that passed the filters (``runs`` holds at most ``limit`` of them).
        tracking_uri: the store read (None when it does not exist yet).
        runs_dir: the folder of run directories read.
    """

    runs: list[RunEntry]
    n_matching: int
    tracking_uri: str | None
    runs_dir: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracking_uri": self.tracking_uri,
            "runs_dir": self.runs_dir,
            "n_matching": self.n_matching,
            "runs": [e.to_dict() for e in self.runs],
        }


def list_runs(
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    experiment: str | None = None,
    recipe: str | None = None,
    status: str | None = None,
    metrics: list[str] | None = None,
    sort: str = "start",
    limit: int | None = 50,
) -> RunList:
    """The runs of the store and of ``runs_dir``, filtered and sorted. See :func:`dlkit.api.runs_list`."""
    wanted = status.upper() if status else None
    if wanted is not None and wanted not in STATUSES:
        raise RecipeError(f"--status: expected one of {', '.join(STATUSES)} (got {status!r})")
    if limit is not None and limit < 1:
        raise RecipeError(f"--limit: expected at least 1 (got {limit})")
    filters = [MetricFilter.parse(m) for m in metrics or []]
    _sorter(sort)  # a bad --sort is refused before the store is read
    from dlkit.tracking.base import resolve_tracking_uri

    entries = collect_runs(runs_dir, tracking_uri)
    if experiment is not None:
        known = {e.experiment for e in entries}
        if experiment not in known:
            from dlkit._naming import did_you_mean

            suggestion = did_you_mean(experiment, [str(k) for k in known if k])
            raise RunNotFoundError(f"--experiment: no run in experiment '{experiment}'.{suggestion}")
    matching = [
        e
        for e in entries
        if (experiment is None or e.experiment == experiment)
        and (recipe is None or e.recipe == recipe)
        and (wanted is None or e.status == wanted)
        and all(f.passes(e) for f in filters)
    ]
    shown = _sort(matching, sort)[:limit] if limit else _sort(matching, sort)
    store_uri = resolve_tracking_uri(tracking_uri)
    return RunList(_nest(shown), len(matching), store_uri, str(runs_dir))


# -- one run ----------------------------------------------------------------------------------


@dataclass
class ChainStep:
    """One run of a decision chain: how it came from the previous one, its result, its verdicts."""

    run_id: str | None
    name: str
    status: str
    via: str | None
    derived_from: str | None
    metrics: dict[str, dict[str, float]]
    verdicts: dict[str, dict[str, Any]]
    current: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunDetails:
    """What ``dlkit runs show`` tells about one run.

    Attributes:
        run: the catalog entry.
        params: MLflow's params (the flattened recipe for an untracked run).
        tags: the tags a person reads (dlkit's, nesting, source).
        artifacts: artifact paths (folders end with ``/``), MLflow's or the run directory's.
        gaps: the diagnose gaps recorded on the run (``diagnose_<gap>`` metrics), by gap name.
        verdicts: ``diagnosis`` / ``error_analysis`` -> the recorded verdict.
        chain: the decision chain through this run, earliest first.
        notes: what could not be read.
    """

    run: RunEntry
    params: dict[str, str]
    tags: dict[str, str]
    artifacts: list[str]
    gaps: dict[str, float]
    verdicts: dict[str, dict[str, Any]]
    chain: list[ChainStep]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "params": self.params,
            "tags": self.tags,
            "artifacts": self.artifacts,
            "gaps": self.gaps,
            "verdicts": self.verdicts,
            "chain": [s.to_dict() for s in self.chain],
            "notes": self.notes,
        }


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: "" if data is None else str(data)}


def _local_params(run: RunDir) -> dict[str, str]:
    if not run.recipe_path.is_file():
        return {}
    import yaml

    return _flatten(yaml.safe_load(run.recipe_path.read_text(encoding="utf-8")) or {})


def _gaps(metrics: dict[str, float], verdicts: dict[str, dict[str, Any]]) -> dict[str, float]:
    logged = {k.removeprefix("diagnose_"): v for k, v in metrics.items() if k.startswith("diagnose_")}
    if logged:
        return dict(sorted(logged.items()))
    details = verdicts.get("diagnosis", {}).get("details", {})
    out = {}
    for part, reading in details.items():
        if isinstance(reading, dict):
            for gap, g in (reading.get("gaps") or {}).items():
                out[gap if part == "run" else f"{part}_{gap}"] = float(g["value"])
    return out


def _artifacts(store: MLflowStore, run_id: str, path: str | None = None, depth: int = 0) -> list[str]:
    out = []
    for item in store.query(f"run {run_id}: artifacts", "list_artifacts", run_id, path):
        if item.is_dir:
            out.append(f"{item.path}/")
            if depth < 1:
                out.extend(_artifacts(store, run_id, item.path, depth + 1))
        else:
            out.append(str(item.path))
    return out


def _local_artifacts(run: RunDir) -> list[str]:
    out = []
    for path in sorted(run.path.iterdir()):
        if path.name == "checkpoints" or path.name.startswith("."):
            continue
        if path.is_dir():
            out.append(f"{path.name}/")
            out.extend(f"{path.name}/{p.name}" + ("/" if p.is_dir() else "") for p in sorted(path.iterdir()))
        else:
            out.append(path.name)
    return out


def _store_for(info: dict[str, Any], tracking_uri: str | None) -> MLflowStore | None:
    return open_store(info.get("tracking_uri") or tracking_uri)


def _mlflow_run(store: MLflowStore | None, run_id: str | None) -> Any:
    if store is None or not run_id:
        return None
    try:
        return store.query(f"run {run_id}", "get_run", run_id)
    except TrackingError:
        return None


def _step(run: Any, local: RunDir | None, current: bool) -> ChainStep:
    tags = run.data.tags if run is not None else {}
    entry = _entry_from_mlflow(run, {}) if run is not None else None
    info = local.info() if local is not None else {}
    linked = info.get("derived_from")
    derived: dict[str, Any] = linked if isinstance(linked, dict) else {}
    metrics = entry.metrics_by_set() if entry is not None else {}
    if not metrics and local is not None:
        metrics = by_set(_local_metrics(local))
    status = run_state(local) if local is not None else (entry.status if entry else "UNKNOWN")
    return ChainStep(
        run_id=entry.run_id if entry else info.get("run_id"),
        name=entry.name if entry else str(info.get("run_name") or (local.path.name if local else "?")),
        status=status,
        via=tags.get(f"{DERIVED_FROM}.via") or derived.get("via"),
        derived_from=tags.get(DERIVED_FROM) or derived.get("run_id"),
        metrics=metrics,
        verdicts=read_verdicts(local, tags),
        current=current,
    )


def decision_chain(run: RunDir, store: MLflowStore | None, max_steps: int = 50) -> list[ChainStep]:
    """The runs linked to ``run`` by ``dlkit.derived_from``: its ancestors, it, then every run
    derived from it or from those (breadth first), each with its result and verdicts."""
    info = run.info()
    here = _step(_mlflow_run(store, info.get("run_id")), run, current=True)
    before: list[ChainStep] = []
    seen = {here.run_id}
    parent = here.derived_from
    while parent and parent not in seen and len(before) < max_steps:
        seen.add(parent)
        found = _mlflow_run(store, parent)
        if found is None:
            break
        local_dir = found.data.tags.get("dlkit.run_dir")
        local = RunDir(Path(local_dir)) if local_dir and (Path(local_dir) / "run.json").is_file() else None
        step = _step(found, local, current=False)
        before.insert(0, step)
        parent = step.derived_from
    after: list[ChainStep] = []
    todo = [here.run_id] if here.run_id else []
    if store is not None:
        experiments = list(_experiments(store))
        while todo and len(after) < max_steps:
            current = todo.pop(0)
            for child in reversed(_search(store, experiments, f"tags.`{DERIVED_FROM}` = '{current}'")):
                child_id = str(child.info.run_id)
                if child_id in seen:
                    continue
                seen.add(child_id)
                local_dir = child.data.tags.get("dlkit.run_dir")
                local = (
                    RunDir(Path(local_dir))
                    if local_dir and (Path(local_dir) / "run.json").is_file()
                    else None
                )
                after.append(_step(child, local, current=False))
                todo.append(child_id)
    return [*before, here, *after]


def show_run(run: RunDir, tracking_uri: str | None = None) -> RunDetails:
    """Everything recorded about one run. See :func:`dlkit.api.runs_show`."""
    info = run.info()
    notes: list[str] = []
    store = _store_for(info, tracking_uri)
    tracked = _mlflow_run(store, info.get("run_id"))
    if info.get("run_id") and tracked is None:
        notes.append(f"MLflow run {info['run_id']} not found in {info.get('tracking_uri') or tracking_uri}")
    if tracked is not None:
        assert store is not None
        entry = _apply_local(_entry_from_mlflow(tracked, _experiments(store)), run, info)
        params = dict(sorted(tracked.data.params.items()))
        tags = {k: v for k, v in sorted(tracked.data.tags.items()) if k.startswith(_TAG_PREFIXES)}
        artifacts = _artifacts(store, entry.run_id or "")
    else:
        entry = _entry_from_local(run, info)
        params = _local_params(run)
        tags = {}
        artifacts = _local_artifacts(run)
    verdicts = read_verdicts(run, tags)
    return RunDetails(
        run=entry,
        params=params,
        tags=tags,
        artifacts=artifacts,
        gaps=_gaps(entry.metrics, verdicts),
        verdicts=verdicts,
        chain=decision_chain(run, store if tracked is not None else None),
        notes=notes,
    )


# -- several runs -----------------------------------------------------------------------------


@dataclass
class RunComparison:
    """Runs side by side: each list holds one value per run, in order (None where absent).

    Attributes:
        runs: the runs compared.
        params: the params whose values differ (missing counts as different).
        n_same_params: params equal in every run (not shown).
        metrics: set -> metric -> values.
        gaps: diagnose gap -> values.
    """

    runs: list[RunEntry]
    params: dict[str, list[str | None]]
    n_same_params: int
    metrics: dict[str, dict[str, list[float | None]]]
    gaps: dict[str, list[float | None]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [
                {k: v for k, v in e.to_dict().items() if k not in ("metrics", "depth")} for e in self.runs
            ],
            "params": self.params,
            "n_same_params": self.n_same_params,
            "metrics": self.metrics,
            "gaps": self.gaps,
        }


def compare_runs(runs: list[RunDir], tracking_uri: str | None = None) -> RunComparison:
    """The params that differ, the final metrics per set and the diagnose gaps of ``runs``.

    Raises:
        RecipeError: fewer than two runs, or one run given twice.
    """
    if len(runs) < 2:
        raise RecipeError("runs compare: expected at least two runs")
    details = [show_run(run, tracking_uri) for run in runs]
    keys = [d.run.run_id or d.run.run_dir for d in details]
    if len(set(keys)) < len(keys):
        raise RecipeError("runs compare: a run is given twice")
    names = sorted({k for d in details for k in d.params})
    params: dict[str, list[str | None]] = {}
    for name in names:
        values = [d.params.get(name) for d in details]
        if len(set(values)) > 1:
            params[name] = values
    per_run = [d.run.metrics_by_set() for d in details]
    metrics: dict[str, dict[str, list[float | None]]] = {}
    for s in SETS:
        found = sorted({m for r in per_run for m in r.get(s, {})})
        if found:
            metrics[s] = {m: [r.get(s, {}).get(m) for r in per_run] for m in found}
    gap_names = sorted({g for d in details for g in d.gaps})
    gaps = {g: [d.gaps.get(g) for d in details] for g in gap_names}
    return RunComparison([d.run for d in details], params, len(names) - len(params), metrics, gaps)


# -- deleting ---------------------------------------------------------------------------------


@dataclass
class DeletedRun:
    """A run to delete (or deleted): where it is recorded."""

    ref: str
    name: str
    run_id: str | None
    run_dir: str | None
    status: str
    purged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _locate(ref: str, runs_dir: Path, store: MLflowStore | None) -> tuple[RunDir | None, Any]:
    """A run directory (given, or under ``runs_dir``) and its MLflow run, or an MLflow run by id
    or name and its run directory; nothing is downloaded."""
    for candidate in (Path(ref), runs_dir / ref):
        if (candidate / "run.json").is_file():
            run = RunDir(candidate)
            return run, _mlflow_run(store, run.info().get("run_id"))
    found = store.lookup(ref) if store is not None else None
    if found is None:
        raise RunNotFoundError(f"run '{ref}': no run directory, run name or MLflow run id matches")
    local = found.data.tags.get("dlkit.run_dir")
    return (RunDir(Path(local)) if local and (Path(local) / "run.json").is_file() else None), found


def plan_delete(
    refs: list[str], runs_dir: str | Path = "runs", tracking_uri: str | None = None
) -> list[DeletedRun]:
    """What ``delete_runs`` would delete.

    Raises:
        RunNotFoundError: a ref matches no run.
        TrackingError: a run is still training (RUNNING with a live process, or RUNNING in
            MLflow with no run directory here to tell).
    """
    store = open_store(tracking_uri)
    plan: list[DeletedRun] = []
    for ref in refs:
        local, tracked = _locate(ref, Path(runs_dir), store)
        info = local.info() if local is not None else {}
        status = run_state(local) if local is not None else str(tracked.info.status)
        name = str(info.get("run_name") or (tracked.info.run_name if tracked is not None else ref))
        if status == "RUNNING":
            raise TrackingError(
                f"run '{name}' is still training: not deleted",
                hint="stop it first (Ctrl-C or SIGTERM), then delete it",
            )
        run_id = str(tracked.info.run_id) if tracked is not None else info.get("run_id")
        plan.append(DeletedRun(ref, name, run_id, str(local.path) if local else None, status))
    return plan


def delete_runs(
    plan: list[DeletedRun], *, purge: bool = False, tracking_uri: str | None = None
) -> list[DeletedRun]:
    """Mark each run deleted in MLflow (restorable there); with ``purge``, remove its run directory.

    A kept run directory is marked deleted in run.json, so listings leave it out.
    """
    store = open_store(tracking_uri) if any(d.run_id for d in plan) else None
    for doomed in plan:
        if doomed.run_id and store is not None:
            tracked = _mlflow_run(store, doomed.run_id)
            if tracked is not None and tracked.info.lifecycle_stage != "deleted":
                store.delete_run(doomed.run_id)
        if doomed.run_dir and Path(doomed.run_dir).is_dir():
            if purge:
                shutil.rmtree(doomed.run_dir)
                doomed.purged = True
            else:
                RunDir(Path(doomed.run_dir)).update_info(
                    deleted=datetime.now(UTC).isoformat(timespec="seconds")
                )
    return plan
