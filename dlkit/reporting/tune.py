"""Terminal views of a study: the preview histograms, the live trials table, the narrowing, the ranking."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from pathlib import Path

    from dlkit.tuning.preview import PreviewResult
    from dlkit.tuning.result import TuneEvent, TuneResult
    from dlkit.tuning.space import Dimension, Narrowed
    from dlkit.tuning.study import TrialRecord

from dlkit.tuning.space import rate_like

BAR = 36


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def short_name(path: str) -> str:
    """``train.optimizer.learning_rate`` -> ``learning_rate``; ``model.units.0`` -> ``units.0``."""
    keys = path.split(".")
    return ".".join(keys[-2:]) if keys[-1].isdigit() and len(keys) > 1 else keys[-1]


def _view_scale(dim: Dimension) -> str:
    """The scale a histogram uses: where a likely mistake shows (decades binned evenly)."""
    if dim.kind == "choice":
        return "linear"
    a, b = dim.bounds
    if dim.kind == "one_minus_log" or (
        dim.kind in ("uniform", "log") and a >= 0.5 and b < 1 and (1 - a) / (1 - b) >= 10
    ):
        return "one_minus_log"
    if (
        dim.log_scale
        or (a > 0 and b / a >= 100)
        or (a == 0 and dim.kind == "uniform" and rate_like(dim.path))
    ):
        return "log"
    return "linear"


def histogram_rows(dim: Dimension, values: list[Any], bins: int = 8) -> list[tuple[str, int]]:
    """(bin label, count) rows; bins are even on the scale where the draws should be even."""
    if not values:
        return []
    if dim.kind == "choice":
        labels = [_show(v) for v in values]
        return [(_show(c), labels.count(_show(c))) for c in dim.choices]
    x = np.asarray(values, dtype=np.float64)
    scale = _view_scale(dim)
    a, b = dim.bounds
    if scale == "log":
        lo = math.log10(a) if a > 0 else math.log10(b) - 4
        t, edges_t = np.log10(np.maximum(x, 10**lo)), np.linspace(lo, math.log10(b), bins + 1)
        edges = 10**edges_t
    elif scale == "one_minus_log":
        t = np.log10(np.maximum(1 - x, 1e-12))
        edges_t = np.linspace(math.log10(1 - b), math.log10(1 - a) if a < 1 else 0, bins + 1)
        edges = 1 - 10**edges_t
    else:
        t, edges_t = x, np.linspace(a, b, bins + 1)
        edges = edges_t
    counts, _ = np.histogram(t, bins=edges_t)
    rows = []
    for i, count in enumerate(counts):
        lo_e, hi_e = sorted((float(edges[i]), float(edges[i + 1])))
        rows.append((f"[{lo_e:.3g}, {hi_e:.3g}]", int(count)))
    if scale == "one_minus_log":
        rows.reverse()
    return rows


def render_preview(console: Console, result: PreviewResult) -> None:
    """Each dimension's histogram of draws, then the warnings."""
    console.print(
        f"[bold]Search space[/bold]: {len(result.dims)} dimensions, {result.strategy}, "
        f"{result.trials} trials x {result.rounds} round(s); {result.n} draws shown"
    )
    for dim in result.dims:
        values = result.samples[dim.path]
        scale = _view_scale(dim)
        note = {
            "log": "bins even in log10",
            "one_minus_log": "bins even in log10(1 - x)",
            "linear": "linear bins",
        }[scale]
        cond = f" when {dim.spec.when}" if dim.spec.when else ""
        table = Table(
            title=escape(f"{dim.path}: {dim.describe()}{cond} ({note})"),
            title_justify="left",
            show_header=False,
            box=None,
        )
        table.add_column("bin", no_wrap=True)
        table.add_column("bar")
        table.add_column("share", justify="right")
        rows = histogram_rows(dim, values)
        top = max((c for _, c in rows), default=1) or 1
        for label, count in rows:
            share = count / len(values) if values else 0.0
            table.add_row(label, "█" * round(BAR * count / top), f"{share:.0%}")
        console.print(table)
    if result.warnings:
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(str(warning))}")
    else:
        console.print("[green]No likely mistakes found in the space.[/green]")


def trials_table(
    records: list[TrialRecord],
    objective: str,
    direction: str,
    limit: int | None = None,
    title: str = "Trials",
) -> Table:
    """One row per trial: status, objective, feasibility and the sampled values."""
    from dlkit.tuning.study import rank

    paths: list[str] = []
    for r in records:
        for p in r.values:
            if p not in paths:
                paths.append(p)
    table = Table(title=title)
    for col in ("#", "trial", "status", objective, "ok"):
        table.add_column(col, no_wrap=True, justify="right" if col in ("#", objective) else "left")
    for p in paths:
        table.add_column(short_name(p), justify="right", no_wrap=True)
    table.add_column("epochs", justify="right")
    table.add_column("note", overflow="fold")
    ranked = rank(records, direction)
    shown = ranked[:limit] if limit else ranked
    for i, r in enumerate(shown, start=1):
        ok = "" if r.feasible is None else ("yes" if r.feasible else "[red]no[/red]")
        status = {
            "COMPLETED": "[green]done[/green]",
            "FAILED": "[red]failed[/red]",
            "RUNNING": "[cyan]running[/cyan]",
        }
        note = r.reason if r.status != "COMPLETED" else "; ".join(r.violations)
        table.add_row(
            str(i) if r.status == "COMPLETED" and r.feasible else "",
            r.trial,
            status.get(r.status, r.status),
            "" if r.objective is None else f"{r.objective:.4f}",
            ok,
            *[escape(_show(r.values[p])) if p in r.values else "-" for p in paths],
            str(r.epochs or ""),
            escape(note[:60]),
        )
    return table


def narrowing_table(changes: list[Narrowed], round_from: int) -> Table:
    """The box of each dimension before and after narrowing, and the shrink on its own scale."""
    table = Table(title=f"Coarse to fine: round {round_from} -> {round_from + 1}")
    table.add_column("dimension")
    table.add_column("before")
    table.add_column("after")
    table.add_column("shrink", justify="right")
    table.add_column("note")
    for c in changes:
        note = f"[yellow]best at the {c.at_bound} bound: widen instead[/yellow]" if c.at_bound else ""
        table.add_row(escape(c.path), escape(c.old), escape(c.new), f"{c.shrink:.0%}", note)
    return table


def trial_line(r: TrialRecord, objective: str) -> str:
    """One finished trial in one line: ``trial r1-t0 failed: <reason> (lr=1e+30)``."""
    values = ", ".join(f"{k}={_show(v)}" for k, v in r.values.items())
    if r.status != "COMPLETED":
        return f"trial {r.trial} {r.status.lower()}: {r.reason or 'no reason recorded'} ({values})"
    broken = f"; breaks {'; '.join(r.violations)}" if r.violations else ""
    value = "" if r.objective is None else f" {objective} {r.objective:.4f}"
    return f"trial {r.trial} completed{value}{broken} ({values})"


class LiveTrials:
    """A live table of the study's trials while it runs (plain lines when not a terminal)."""

    def __init__(self, console: Console, limit: int = 15) -> None:
        self.console = console
        self.limit = limit
        self._live: Any = None
        self.study: Path | None = None  # the study's folder and name, once it exists
        self.study_name = ""

    def __call__(self, event: TuneEvent) -> None:
        if event.study is not None:
            self.study, self.study_name = event.study, event.study_name
        if event.kind == "round_start":
            self.stop()
            self.console.print(
                f"[bold]Round {event.round}/{event.rounds}[/bold]: " + escape("; ".join(event.space))
            )
            if self.console.is_terminal:
                from rich.live import Live

                self._live = Live(console=self.console, refresh_per_second=2, transient=True)
                self._live.start()
        elif event.kind == "round_end" and event.changes:
            self.stop()
            self.console.print(narrowing_table(event.changes, event.round))
            for c in event.changes:
                if c.at_bound:
                    self.console.print(
                        "[yellow]warning:[/yellow] "
                        + escape(
                            f"{c.path}: the best trial sits at the {c.at_bound} bound of {c.old}; "
                            "the optimum may lie outside: widen the range rather than narrow it"
                        )
                    )
        elif event.kind == "trial_end" and event.trial is not None:
            records = [r for r in event.records if r.round == event.round]
            if self._live is not None:
                title = f"Round {event.round}: {len(records)} trials (best {self.limit} shown)"
                self._live.update(trials_table(records, event.objective, event.direction, self.limit, title))
            else:
                self.console.print(escape(trial_line(event.trial, event.objective)))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def render_tune_result(console: Console, result: TuneResult, limit: int = 15) -> None:
    """The ranked trials, the best configuration, and where everything went."""
    console.print(
        trials_table(
            result.ranked,
            result.objective,
            result.direction,
            limit,
            escape(f"Study {result.name}: ranked trials"),
        )
    )
    failed = sum(r.status == "FAILED" for r in result.ranked)
    infeasible = sum(r.status == "COMPLETED" and not r.feasible for r in result.ranked)
    if result.constraints:
        console.print(
            "Constraints: "
            + ", ".join(f"{k} {v}" for k, v in result.constraints.items())
            + f"; {infeasible} trial(s) break one (shown, never picked)"
        )
    if failed:
        console.print(
            f"[yellow]{failed} trial(s) failed[/yellow]: see the reason column of {result.table_csv}"
        )
    if result.best is None:
        console.print("[red]No completed trial meets the constraints.[/red]")
    else:
        best = result.best
        values = ", ".join(f"{k} = {_show(v)}" for k, v in best.values.items())
        console.print(
            "[bold green]Best[/bold green]: "
            + escape(f"trial {best.trial}, {result.objective} = {best.objective:.4f} ({values})")
        )
        if result.best_recipe is not None:
            console.print(escape(f"Best recipe: {result.best_recipe}  (dlkit train {result.best_recipe})"))
    console.print(
        escape(
            f"Study: {result.study_dir}  "
            f"(trials: {result.table_csv.name}, {result.table_parquet.name}; plots/)"
        )
    )
    if result.run_id:
        console.print(
            f"MLflow: run {result.run_id} in {result.tracking_uri} (experiment {result.experiment})"
        )
