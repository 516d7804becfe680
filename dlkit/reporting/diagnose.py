"""Rendering of :class:`~dlkit.runs.diagnose.RunDiagnosis`: rich tables, Markdown, HTML.

The same objects are drawn three ways; nothing here computes a gap. A multitask run carries
one diagnosis per task: each is drawn under its task's name.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlkit.analysis.bias_variance import GAP_LABELS, SET_LABELS, DiagnoseResult, Gap

if TYPE_CHECKING:
    from dlkit.runs.diagnose import RunDiagnosis

FORMULAS = {
    "avoidable_bias": "train − human",
    "variance": "train-dev − train",
    "data_mismatch": "dev − train-dev",
    "overfitting_to_dev": "test − dev",
}


def fmt(value: float | None, kind: str) -> str:
    """An error or gap: a percentage for rates, four significant digits for losses."""
    if value is None:
        return "–"
    return f"{value:.2%}" if kind == "proportion" else f"{value:.4g}"


def _formula(gap: Gap, result: DiagnoseResult) -> str:
    if gap.name == "variance" and result.variance_includes_mismatch:
        return "dev − train (no train-dev)"
    return FORMULAS[gap.name]


def _status(gap: Gap) -> str:
    if gap.flagged:
        return "PROBLEM"
    return {"clear": "present, small", "negative": "negative (explained)", "unresolved": "not resolved"}[
        gap.status
    ]


def _interval(low: float, high: float, kind: str) -> str:
    return f"{fmt(low, kind)} to {fmt(high, kind)}"


def _n(s_n: int, n_total: int | None) -> str:
    return f"{s_n:,} of {n_total:,}" if n_total else f"{s_n:,}"


def _verdict_line(r: DiagnoseResult) -> str:
    if r.verdict is None:
        return "No problem flagged: no gap is clearly there at these set sizes."
    main = r.gap(r.verdict)
    assert main is not None
    text = f"Work on {main.label} ({fmt(main.value, r.kind)})"
    others = [g for g in (r.gap(p) for p in r.problems[1:]) if g is not None]
    if others:
        text += ", then " + ", ".join(f"{g.label} ({fmt(g.value, r.kind)})" for g in others)
    return text + "."


def _label(d: RunDiagnosis, task: str | None) -> str:
    """The run's name, with the task's for one diagnosis of a multitask run."""
    return d.run_name if task is None else f"{d.run_name}: {task}"


def _task_heading(task: str) -> str:
    return f"Task {task}"


# ---- terminal --------------------------------------------------------------------------------


def sets_table(d: RunDiagnosis, r: DiagnoseResult, task: str | None = None) -> Table:
    """Errors per set with their intervals and the human-level error."""
    of = d.run_name if task is None else f"{d.run_name}, task {task}"
    table = Table(title=escape(f"Errors of {of} ({d.error_name})"))
    table.add_column("set")
    table.add_column("n", justify="right")
    table.add_column("error", justify="right")
    table.add_column(f"{r.confidence:.0%} CI", justify="right")
    table.add_row("human", "", fmt(r.human_error, r.kind), f"({d.human_error_source})")
    for name, s in r.sets.items():
        table.add_row(
            SET_LABELS[name], _n(s.n, s.n_total), fmt(s.error, r.kind), _interval(s.low, s.high, r.kind)
        )
    return table


def gaps_table(r: DiagnoseResult) -> Table:
    """The gaps, their intervals and whether each is clearly there."""
    table = Table(title="Gaps (docs/method.md §2)")
    table.add_column("gap")
    table.add_column("formula")
    table.add_column("value", justify="right")
    table.add_column(f"{r.confidence:.0%} CI", justify="right")
    table.add_column("resolves ±", justify="right")
    table.add_column("status")
    for g in r.gaps:
        style = "bold red" if g.flagged else "dim" if g.status != "clear" else ""
        table.add_row(
            g.label,
            _formula(g, r),
            fmt(g.value, r.kind),
            _interval(g.low, g.high, r.kind),
            fmt(g.resolution, r.kind),
            _status(g),
            style=style,
        )
    return table


def satisficing_table(d: RunDiagnosis) -> Table:
    table = Table(title="Satisficing metrics (docs/method.md §3)")
    for col in ("metric", "constraint", "value", "met", "how"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for c in d.satisficing:
        value = "–" if c.value is None else f"{c.value:.4g}"
        met = "–" if c.met is None else "yes" if c.met else "NO"
        table.add_row(c.name, c.constraint, value, met, c.note, style="bold red" if c.met is False else "")
    return table


def render_diagnosis(console: Console, d: RunDiagnosis) -> None:
    """The full report of one run (of each of its tasks, for a multitask run)."""
    for task, r in d.diagnoses():
        if task is not None:
            console.rule(escape(_task_heading(task)), style="bold")
        console.print(sets_table(d, r, task))
        console.print(gaps_table(r))
        console.print(f"[bold]Verdict:[/bold] {escape(_verdict_line(r))}")
        for name, actions in r.actions.items():
            console.print(f"Next steps for {GAP_LABELS[name]}:")
            for a in actions:
                console.print(f"  • {a}")
        for note in r.notes:
            console.print(f"[yellow]note:[/yellow] {escape(note)}")
    for note in d.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if d.satisficing:
        console.print(satisficing_table(d))
    _render_where(console, d)


def _render_where(console: Console, d: RunDiagnosis) -> None:
    if d.reports:
        console.print(f"Reports: {', '.join(str(p) for p in d.reports.values())}", highlight=False)
        if d.run_id and not d.logging_error:
            console.print(f"Logged to MLflow run {d.run_id} ({d.tracking_uri})", highlight=False)
    if d.logging_error:
        console.print(f"[yellow]warning:[/yellow] not logged to MLflow: {d.logging_error}")


def _columns(diagnoses: list[RunDiagnosis]) -> list[tuple[str, DiagnoseResult]]:
    return [(_label(d, task), r) for d in diagnoses for task, r in d.diagnoses()]


def comparison_table(diagnoses: list[RunDiagnosis]) -> Table:
    """Errors and gaps of several runs side by side (the flagged gaps marked with *).

    A multitask run takes one column per task.
    """
    columns = _columns(diagnoses)
    table = Table(title="Diagnosis, side by side (* = flagged)")
    table.add_column("")
    for label, _ in columns:
        table.add_column(escape(label), justify="right")
    table.add_row("human", *(fmt(r.human_error, r.kind) for _, r in columns))
    for name in ("train", "train_dev", "dev", "test"):
        cells = []
        for _, r in columns:
            s = r.sets.get(name)
            cells.append("–" if s is None else f"{fmt(s.error, r.kind)} (n {s.n:,})")
        table.add_row(SET_LABELS[name], *cells)
    for name, label in GAP_LABELS.items():
        cells = []
        for _, r in columns:
            g = r.gap(name)
            if g is None:
                cells.append("–")
                continue
            mark = "* " if g.flagged else ""
            cells.append(f"{mark}{fmt(g.value, r.kind)} [{_interval(g.low, g.high, r.kind)}]")
        table.add_row(label, *cells)
    table.add_row("verdict", *((GAP_LABELS.get(r.verdict or "", "none")) for _, r in columns))
    return table


def render_diagnoses(console: Console, diagnoses: list[RunDiagnosis]) -> None:
    """One run: the full report. Several: gaps side by side, then each run's next steps."""
    if len(diagnoses) == 1:
        render_diagnosis(console, diagnoses[0])
        return
    console.print(comparison_table(diagnoses))
    for d in diagnoses:
        for task, r in d.diagnoses():
            console.print(f"[bold]{escape(_label(d, task))}:[/bold] {escape(_verdict_line(r))}")
            for note in r.notes:
                console.print(f"  [yellow]note:[/yellow] {escape(note)}")
        for note in d.notes:
            console.print(f"  [yellow]note:[/yellow] {escape(note)}")
        _render_where(console, d)


# ---- Markdown and HTML -----------------------------------------------------------------------


def _rows_sets(d: RunDiagnosis, r: DiagnoseResult) -> list[list[str]]:
    rows = [["human", "", fmt(r.human_error, r.kind), d.human_error_source]]
    for name, s in r.sets.items():
        rows.append(
            [SET_LABELS[name], _n(s.n, s.n_total), fmt(s.error, r.kind), _interval(s.low, s.high, r.kind)]
        )
    return rows


def _rows_gaps(r: DiagnoseResult) -> list[list[str]]:
    return [
        [
            g.label,
            _formula(g, r),
            fmt(g.value, r.kind),
            _interval(g.low, g.high, r.kind),
            fmt(g.resolution, r.kind),
            _status(g),
        ]
        for g in r.gaps
    ]


def _rows_satisficing(d: RunDiagnosis) -> list[list[str]]:
    return [
        [
            c.name,
            c.constraint,
            "–" if c.value is None else f"{c.value:.4g}",
            "–" if c.met is None else "yes" if c.met else "NO",
            c.note,
        ]
        for c in d.satisficing
    ]


_SET_HEAD = ["set", "n", "error", "95% CI"]
_GAP_HEAD = ["gap", "formula", "value", "95% CI", "resolves ±", "status"]
_SAT_HEAD = ["metric", "constraint", "value", "met", "how"]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(d: RunDiagnosis) -> str:
    """The report as Markdown (a section per task for a multitask run)."""
    parts = [
        f"# Diagnosis of {d.run_name}",
        f"Metric: {d.error_name}. Human-level error {fmt(d.human_error, d.diagnoses()[0][1].kind)} "
        f"({d.human_error_source}).",
    ]
    for task, r in d.diagnoses():
        h = "##" if task is None else "###"
        if task is not None:
            parts.append(f"## {_task_heading(task)}")
        parts += [
            f"{h} Errors",
            _md_table(_SET_HEAD, _rows_sets(d, r)),
            f"{h} Gaps",
            _md_table(_GAP_HEAD, _rows_gaps(r)),
            f"**Verdict:** {_verdict_line(r)}",
        ]
        for name, actions in r.actions.items():
            parts.append(f"{h}# Next steps for {GAP_LABELS[name]}\n" + "\n".join(f"- {a}" for a in actions))
        if r.notes:
            parts.append(f"{h} Notes\n" + "\n".join(f"- {n}" for n in r.notes))
    if d.notes:
        parts.append("## Notes on the run\n" + "\n".join(f"- {n}" for n in d.notes))
    if d.satisficing:
        parts += ["## Satisficing metrics", _md_table(_SAT_HEAD, _rows_satisficing(d))]
    return "\n\n".join(parts) + "\n"


def errors_plot_svg(r: DiagnoseResult, ylabel: str) -> str:
    """Errors per set with their intervals and the human-level line, as inline SVG."""
    from dlkit.reporting._svg import bars_svg

    names = list(r.sets)
    scale = 100 if r.kind == "proportion" else 1
    return bars_svg(
        [SET_LABELS[n] for n in names],
        [r.sets[n].error * scale for n in names],
        [min(r.sets[n].low, r.sets[n].error) * scale for n in names],
        [max(r.sets[n].high, r.sets[n].error) * scale for n in names],
        line=r.human_error * scale,
        line_label="human level",
        ylabel="error (%)" if r.kind == "proportion" else ylabel,
    )


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cls = ' class="problem"' if row[-1] == "PROBLEM" or (len(row) > 3 and row[3] == "NO") else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em}"
    "td{text-align:right}td:first-child{text-align:left}tr.problem{color:#b00;font-weight:bold}"
)


def to_html(d: RunDiagnosis) -> str:
    """The report as a standalone HTML page, with the errors plot inline (one per task)."""
    e = html.escape
    body = [f"<h1>Diagnosis of {e(d.run_name)}</h1>", *html_body(d)]
    from dlkit.reporting.learning_curve import learning_curve_section

    body.append(learning_curve_section(d.run_dir))  # "" unless --learning-curve wrote one
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>Diagnosis of {e(d.run_name)}</title>'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def html_body(d: RunDiagnosis) -> list[str]:
    """The diagnosis as HTML parts (headings from ``h2``), for a page of its own or a section of another."""
    e = html.escape
    body = [
        f"<p>Metric: {e(d.error_name)}. Human-level error "
        f"{e(fmt(d.human_error, d.diagnoses()[0][1].kind))} ({e(d.human_error_source)}).</p>",
    ]
    for task, r in d.diagnoses():
        h = 2 if task is None else 3
        if task is not None:
            body.append(f"<h2>{e(_task_heading(task))}</h2>")
        body += [
            errors_plot_svg(r, d.metric),
            f"<h{h}>Errors</h{h}>",
            _html_table(_SET_HEAD, _rows_sets(d, r)),
            f"<h{h}>Gaps</h{h}>",
            _html_table(_GAP_HEAD, _rows_gaps(r)),
            f"<p><b>Verdict:</b> {e(_verdict_line(r))}</p>",
        ]
        for name, actions in r.actions.items():
            body.append(f"<h{h + 1}>Next steps for {e(GAP_LABELS[name])}</h{h + 1}><ul>")
            body += [f"<li>{e(a)}</li>" for a in actions]
            body.append("</ul>")
        if r.notes:
            body.append(f"<h{h}>Notes</h{h}><ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    if d.notes:
        body.append("<h2>Notes on the run</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in d.notes) + "</ul>")
    if d.satisficing:
        body += ["<h2>Satisficing metrics</h2>", _html_table(_SAT_HEAD, _rows_satisficing(d))]
    return body
