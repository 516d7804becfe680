"""Terminal rendering of the runs catalog: ``dlkit runs list``, ``show``, ``compare``, ``delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from dlkit.runs.catalog import ChainStep, DeletedRun, RunComparison, RunDetails, RunEntry, RunList

_STATUS_STYLE = {
    "FINISHED": "green",
    "RUNNING": "cyan",
    "FAILED": "red",
    "KILLED": "yellow",
    "DEAD": "bold red",
}
_SET_LABEL = {"train": "train", "train_dev": "train-dev", "dev": "dev", "test": "test"}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def _key_metrics(entry: RunEntry) -> str:
    metric = entry.key_metric()
    if metric is None:
        return "-"
    per_set = entry.metrics_by_set()
    values = [f"{_SET_LABEL[s]} {_num(m[metric])}" for s, m in per_set.items() if metric in m]
    return f"{metric}: " + " · ".join(values)


def _nesting(entry: RunEntry) -> str:
    if entry.kind == "trial":
        return f"trial {entry.trial}" if entry.trial else "trial"
    return entry.kind if entry.kind != "run" else ""


def render_run_list(console: Console, listing: RunList) -> None:
    """One row per run, children indented under their parents; how to resume the dead ones."""
    if not listing.runs:
        console.print(
            escape(f"No runs match (store {listing.tracking_uri}, run directories in {listing.runs_dir}).")
        )
        return
    table = Table(title=escape(f"Runs in {listing.tracking_uri} and {listing.runs_dir}/"))
    for name, justify in (("id", "left"), ("name", "left"), ("experiment", "left"), ("status", "left")):
        table.add_column(name, no_wrap=name in ("id", "status"), justify=justify)  # type: ignore[arg-type]
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("duration", justify="right")
    table.add_column("metrics")
    table.add_column("nesting")
    for e in listing.runs:
        indent = "  " * e.depth + ("└ " if e.depth else "")
        table.add_row(
            Text(e.run_id[:8] if e.run_id else "-"),
            Text(indent + e.name),
            Text(e.experiment or "-"),
            _status(e.status),
            Text((e.start or "-").replace("T", " ")[:19]),
            _duration(e.duration_s),
            Text(_key_metrics(e)),
            Text(_nesting(e)),
        )
    console.print(table)
    if listing.n_matching > len(listing.runs):
        console.print(f"{len(listing.runs)} of {listing.n_matching} matching runs shown (--limit).")
    for e in listing.runs:
        if e.status == "DEAD":
            console.print(
                Text.assemble(
                    ("DEAD", "bold red"),
                    f" {e.name}: its process is gone (MLflow says {e.tracked_status or 'nothing'})."
                    + (f" Resume it: {e.resume}" if e.resume else ""),
                )
            )


def _verdict_line(kind: str, verdict: dict[str, Any]) -> Text:
    label = "diagnosis" if kind == "diagnosis" else "error analysis"
    return Text.assemble(
        (f"{label}: ", "bold"), str(verdict.get("problem", "")), " → ", str(verdict.get("action", ""))
    )


def _step_result(step: ChainStep) -> str:
    dev = step.metrics.get("dev", {})
    shown = [f"{k} {_num(v)}" for k, v in dev.items() if k in ("accuracy", "error", "loss", "mse", "mae")]
    return f"dev {', '.join(shown)}" if shown else "no dev metrics"


def render_chain(console: Console, chain: list[ChainStep]) -> None:
    """Diagnosis → action → next run → its result, from the earliest run linked."""
    if len(chain) == 1 and not chain[0].verdicts:
        console.print("Decision chain: nothing recorded yet (dlkit diagnose records a verdict).")
        return
    console.print(Text("Decision chain", style="bold"))
    for i, step in enumerate(chain):
        arrow = "" if i == 0 else "  ↓ " + (f"derived ({step.via})" if step.via else "derived") + "\n"
        mark = " (this run)" if step.current else ""
        console.print(
            Text.assemble(
                arrow,
                (f"{step.name}{mark}", "bold" if step.current else ""),
                f" [{step.status}] {_step_result(step)}",
            )
        )
        for kind, verdict in step.verdicts.items():
            console.print(Text("    ").append(_verdict_line(kind, verdict)))


def _metrics_table(metrics: dict[str, dict[str, float]]) -> Table:
    names = sorted({m for per_set in metrics.values() for m in per_set})
    table = Table(title="Final metrics per set")
    table.add_column("set", no_wrap=True)
    for name in names:
        table.add_column(escape(name), justify="right")
    for s, per_set in metrics.items():
        table.add_row(_SET_LABEL.get(s, s), *(_num(per_set.get(n)) for n in names))
    return table


def render_run_details(console: Console, details: RunDetails) -> None:
    """Params, metrics per set, tags, artifacts, gaps, verdicts and the decision chain."""
    e = details.run
    console.print(Text.assemble((e.name, "bold"), "  ", _status(e.status)))
    facts = [
        ("run id", e.run_id or "- (untracked)"),
        ("experiment", e.experiment or "-"),
        ("recipe", e.recipe or "-"),
        ("started", e.start or "-"),
        ("duration", _duration(e.duration_s)),
        ("run directory", e.run_dir or "-"),
    ]
    if e.status == "DEAD":
        facts.append(("resume", e.resume or "-"))
    for label, value in facts:
        console.print(Text.assemble((f"{label}: ", "dim"), str(value)))
    metrics = e.metrics_by_set()
    if metrics:
        console.print(_metrics_table(metrics))
    if details.gaps:
        console.print(
            Text("Diagnose gaps: ", style="bold").append(
                ", ".join(f"{k} {_num(v)}" for k, v in details.gaps.items())
            )
        )
    shown = {k: v for k, v in details.params.items() if v != ""}
    if shown:
        table = Table(title=f"Params ({len(details.params) - len(shown)} empty, not shown)")
        table.add_column("param")
        table.add_column("value")
        for k, v in shown.items():
            table.add_row(Text(k), Text(v))
        console.print(table)
    if details.tags:
        console.print(Text("Tags", style="bold"))
        for k, v in details.tags.items():
            console.print(Text(f"  {k}: {v}"))
    if details.artifacts:
        top = [a for a in details.artifacts if "/" not in a.rstrip("/")]
        console.print(Text("Artifacts: ", style="bold").append(", ".join(top)))
    render_chain(console, details.chain)
    for note in details.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def render_comparison(console: Console, comparison: RunComparison) -> None:
    """Differing params, metrics per set and diagnose gaps, one column per run."""
    names = [e.name for e in comparison.runs]

    def table(title: str) -> Table:
        t = Table(title=title)
        t.add_column("")
        for n in names:
            t.add_column(escape(n), justify="right")
        return t

    params = table(f"Params that differ ({comparison.n_same_params} equal, not shown)")
    for k, texts in comparison.params.items():
        params.add_row(Text(k), *(Text("-" if v is None else v) for v in texts))
    console.print(params)
    metrics = table("Final metrics per set")
    for s, per_set in comparison.metrics.items():
        for m, values in per_set.items():
            metrics.add_row(Text(f"{_SET_LABEL.get(s, s)} {m}"), *(_num(v) for v in values))
    console.print(metrics)
    if comparison.gaps:
        gaps = table("Diagnose gaps")
        for g, values in comparison.gaps.items():
            gaps.add_row(Text(g), *(_num(v) for v in values))
        console.print(gaps)


def describe_deletion(runs: list[DeletedRun], purge: bool) -> list[Text]:
    """One line per run about to be deleted."""
    lines = []
    for d in runs:
        where = [f"MLflow run {d.run_id}" if d.run_id else "no MLflow run"]
        if d.run_dir:
            where.append(f"{'and remove' if purge else 'keep'} {d.run_dir}")
        lines.append(Text(f"  {d.name} [{d.status}]: {'; '.join(where)}"))
    return lines
