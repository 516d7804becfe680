"""The ``dlkit report`` page: one self-contained HTML file for a run or a study.

Renders :class:`~dlkit.runs.report.RunReport` and :class:`~dlkit.runs.report.StudyReport`;
computes nothing. Self-contained: CSS inline, plots as inline SVG (text kept as text),
no script, and a Content-Security-Policy that lets the page load nothing from anywhere. Plots
and tables shrink or scroll to the width of the viewer (MLflow's artifact viewer is narrow).
Every string that came from a user (names, recipe, labels, values) is escaped.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit import __version__

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from dlkit.runs.report import RunReport, StudyReport
    from dlkit.tuning.space import Dimension
    from dlkit.tuning.study import TrialRecord

e = html.escape

SET_ORDER = ("train", "train_dev", "dev", "test")
SET_LABELS = {"train": "train", "train_dev": "train-dev", "dev": "dev", "test": "test"}
MAX_LABEL = 24  # class labels longer than this are cut on the confusion plot (the table has them whole)
MAX_TABLE_CLASSES = 40  # beyond this, the confusion counts are not also shown as a table

_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:.8em;"
    "max-width:72em;line-height:1.45;color:#1b1f23}"
    "h1{font-size:1.5em;overflow-wrap:anywhere}"
    "h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.6em 0;display:block;max-width:100%;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:.25em .55em;white-space:nowrap}th{background:#f3f4f6}"
    "td{text-align:right}td:first-child{text-align:left}"
    "svg,img{max-width:100%;height:auto}"
    "pre{background:#f6f8fa;padding:.7em;overflow-x:auto;max-width:100%;font-size:.9em}"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em}"
    "dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}"
    "nav{margin:.5em 0}nav a{margin-right:.9em;white-space:nowrap}"
    "tr.failed td{background:#fdecea;color:#8a1c1c}tr.best td{background:#eaf6ea}"
    "tr.problem{color:#b00;font-weight:bold}.note{color:#555}"
    "div.plots{display:flex;flex-wrap:wrap;gap:.5em}div.plots svg{flex:1 1 20em}"
)
# the page loads nothing: no script, no font, no image but data: URIs
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# ---------------------------------------------------------------------- plots


def responsive_svg(svg: str) -> str:
    """An SVG document as an inline element that shrinks to its container (never wider than drawn)."""
    svg = svg[svg.find("<svg") :]
    end = svg.find(">")
    head, rest = svg[:end], svg[end:]
    width = re.search(r'\swidth="([\d.]+)pt"', head)
    head = re.sub(r'\s(?:width|height)="[^"]*"', "", head)
    limit = f"max-width:min(100%,{width.group(1)}pt)" if width else "max-width:100%"
    return f'{head} role="img" style="width:100%;{limit};height:auto"{rest}'


@contextmanager
def _svg_text() -> Iterator[None]:
    import matplotlib

    matplotlib.use("Agg")
    # text stays text: readable when the plot is scaled down, searchable, and smaller
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dlkit-report"}):
        yield


def figure_svg(fig: Figure) -> str:
    """A matplotlib figure as responsive inline SVG."""
    buf = io.StringIO()
    with _svg_text():
        fig.savefig(buf, format="svg")
    return responsive_svg(buf.getvalue())


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, ncols)


def history_svgs(history: pd.DataFrame, metric: str) -> list[str]:
    """One plot per quantity (the loss, then ``metric``) per epoch: train (as measured during the
    epoch) against dev. Separate plots wrap one under the other in a narrow viewer."""
    epochs = history["epoch"] if "epoch" in history.columns else np.arange(1, len(history) + 1)
    svgs = []
    for name in dict.fromkeys(("loss", metric)):
        if name not in history.columns and f"val_{name}" not in history.columns:
            continue
        fig, ax = _figure(4.6, 3.2)
        if name in history.columns:
            ax.plot(epochs, history[name], marker="o", ms=3, label="train (during the epoch)")
        if f"val_{name}" in history.columns:
            ax.plot(epochs, history[f"val_{name}"], marker="o", ms=3, label="dev")
        _integer_ticks(ax.xaxis)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name} per epoch", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        svgs.append(figure_svg(fig))
    return svgs


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _log_ticks(axis: Any) -> None:
    """Readable ticks on a log axis: 1, 2 and 5 times powers of ten, written plainly, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def confusion_svg(matrix: np.ndarray, classes: list[str]) -> str:
    """The confusion matrix (rows true, columns predicted), sized to its classes, scaled to fit."""
    from dlkit.reporting.errors import confusion_svg as draw

    return responsive_svg(draw(matrix, [_short(c) for c in classes]))


def _x_of(dim: Dimension, value: Any) -> Any:
    if dim.kind == "one_minus_log":
        return 1 - float(value)
    if dim.kind == "choice":
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    return value


def objective_svg(records: list[TrialRecord], dim: Dimension, objective: str, best: str | None) -> str | None:
    """The objective of completed trials against one dimension (log axis where it is searched on one)."""
    done = [
        r for r in records if r.status == "COMPLETED" and r.objective is not None and dim.path in r.values
    ]
    if not done:
        return None
    fig, ax = _figure(5.0, 3.4)
    for group, marker, label in (
        ([r for r in done if r.feasible], "o", "feasible"),
        ([r for r in done if not r.feasible], "x", "breaks a constraint"),
    ):
        if group:
            ax.scatter(
                [_x_of(dim, r.values[dim.path]) for r in group],
                [r.objective for r in group],
                marker=marker,
                label=label,
            )
    top = [r for r in done if r.trial == best]
    if top:
        ax.scatter(
            [_x_of(dim, top[0].values[dim.path])],
            [top[0].objective],
            marker="*",
            s=220,
            color="gold",
            edgecolor="black",
            label="best",
            zorder=3,
        )
    if dim.log_scale:
        ax.set_xscale("log")
        _log_ticks(ax.xaxis)
    ax.margins(0.08)
    ax.set_xlabel(f"1 - {dim.path}" if dim.kind == "one_minus_log" else dim.path)
    ax.set_ylabel(objective)
    ax.set_title(f"{objective} vs {dim.path} ({dim.describe()})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_svg(fig)


def progress_svg(records: list[TrialRecord], objective: str, direction: str) -> str | None:
    """The objective of each trial in the order they ran, the best so far, failed trials marked."""
    ordered = sorted(records, key=lambda r: (r.round, _trial_number(r.kt_trial_id)))
    if not ordered:
        return None
    fig, ax = _figure(6.0, 3.4)
    xs = np.arange(1, len(ordered) + 1)
    values = [
        r.objective if r.status == "COMPLETED" and r.objective is not None else math.nan for r in ordered
    ]
    done = [(x, v) for x, v in zip(xs, values, strict=True) if not math.isnan(v)]
    if done:
        ax.scatter([x for x, _ in done], [v for _, v in done], label="trial", zorder=2)
        best, line = None, []
        pick = max if direction == "max" else min
        for v in values:
            best = v if best is None or math.isnan(best) else (best if math.isnan(v) else pick(best, v))
            line.append(best)
        ax.step(xs, line, where="post", color="#c44e52", label="best so far")
    failed = [x for x, r in zip(xs, ordered, strict=True) if r.status != "COMPLETED"]
    for k, x in enumerate(failed):
        ax.axvline(
            x,
            color="#8a1c1c",
            linestyle=":",
            linewidth=1.2,
            label="failed / not completed" if k == 0 else None,
        )
    _integer_ticks(ax.xaxis)
    ax.margins(0.05, 0.1)
    ax.set_xlabel("trial (in the order run)")
    ax.set_ylabel(objective)
    ax.set_title(f"{objective} over trials ({direction}imise)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_svg(fig)


def _trial_number(kt_id: str) -> tuple[int, str]:
    return (int(kt_id), "") if str(kt_id).isdigit() else (0, str(kt_id))


# ---------------------------------------------------------------------- page parts


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return "–"
        return f"{v:.4f}" if 1e-3 <= abs(v) < 1e5 or v == 0 else f"{v:.4g}"
    return str(value)


def table(head: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """An HTML table of already-escaped cells (headers are escaped here)."""
    out = ["<table>", "<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _meta(items: list[tuple[str, str]]) -> str:
    """A definition list of (label, already-escaped value)."""
    return '<dl class="meta">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _link(url: str | None, text: str) -> str:
    if not url:
        return '<span class="note">not tracked in MLflow</span>'
    return f'<a href="{e(url)}">{e(text)}</a>'


class _Page:
    """Sections in order, each with an id for the table of contents."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[tuple[str, str, str]] = []

    def add(self, sid: str, heading: str, body: str) -> None:
        self.sections.append((sid, heading, body))

    def render(self, header: str) -> tuple[str, list[str]]:
        nav = "<nav>" + "\n".join(f'<a href="#{sid}">{e(h)}</a>' for sid, h, _ in self.sections) + "</nav>"
        body = "\n".join(
            f'<section id="{sid}">\n<h2>{e(h)}</h2>\n{b}\n</section>' for sid, h, b in self.sections
        )
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(self.title)}</title><style>{_CSS}</style></head><body>\n"
            f"<header>\n<h1>{e(self.title)}</h1>\n{header}\n{nav}\n</header>\n{body}\n"
            f'<footer><p class="note">Written by dlkit {e(__version__)}.</p></footer>\n</body></html>\n'
        )
        return page, [sid for sid, _, _ in self.sections]


def _recipe(text: str) -> str:
    return f"<pre><code>{e(text)}</code></pre>" if text else '<p class="note">No recipe.yaml stored.</p>'


def _notes(notes: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"


def metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    """Sets as rows (train, train-dev, dev, test), metrics as columns; each cell tagged ``set.metric``."""
    sets = [s for s in SET_ORDER if s in metrics] + [s for s in metrics if s not in SET_ORDER]
    names: list[str] = []
    for s in sets:
        names += [m for m in metrics[s] if m not in names]
    names.sort(key=lambda m: (m != "n", m))
    rows = [
        [e(SET_LABELS.get(s, s))]
        + [f'<span data-metric="{e(s)}.{e(m)}">{e(_fmt(metrics[s].get(m)))}</span>' for m in names]
        for s in sets
    ]
    return table(["set", *names], rows)


def _confusion_table(matrix: np.ndarray, classes: list[str]) -> str:
    rows = [[e(c), *(str(int(v)) for v in matrix[i])] for i, c in enumerate(classes)]
    return "<details><summary>Counts</summary>" + table(["true \\ predicted", *classes], rows) + "</details>"


# ---------------------------------------------------------------------- pages


def demote_headings(fragment: str) -> str:
    """Every heading of an HTML fragment one level down (``h2`` -> ``h3``), to sit in a section."""
    return re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", fragment)


def responsive_all(fragment: str) -> str:
    """Every inline SVG of an HTML fragment made to shrink to its container."""
    return re.sub(r"<svg\b[^>]*>", lambda m: responsive_svg(m.group(0)), fragment)


def _diagnosis_body(data: RunReport) -> str:
    from dlkit.reporting.diagnose import html_body

    if data.diagnosis is None:
        parts = [f'<p class="note">{e(data.diagnose_note or "not diagnosed")}</p>']
        if data.diagnose_html:
            parts += [
                "<p>The last diagnosis stored with the run (reports/diagnose.html):</p>",
                data.diagnose_html,
            ]
        return responsive_all("\n".join(parts))
    return responsive_all(demote_headings("\n".join(html_body(data.diagnosis))))


def _svg_or_note(svg: str | None, note: str) -> str:
    return svg if svg is not None else f'<p class="note">{e(note)}</p>'


def run_report_html(data: RunReport) -> tuple[str, list[str]]:
    """The page of one run, and its section ids in order."""
    info = data.info
    page = _Page(f"Run {data.run_name}")
    header = _meta(
        [
            ("run", e(data.run_name)),
            ("run id", e(str(info.get("run_id") or "–"))),
            ("status", e(data.state)),
            ("started", e(str(info.get("started") or "–"))),
            ("finished", e(str(info.get("finished") or "–"))),
            ("recipe", e(str(info.get("recipe_name") or "–"))),
            ("task", e(str(info.get("task") or "–"))),
            ("experiment", e(str(info.get("experiment") or "–"))),
            ("MLflow", _link(data.link, "open the run in the MLflow UI")),
            ("run directory", e(str(data.run_dir))),
        ]
    )
    if data.metrics:
        page.add(
            "metrics",
            "Metrics per set",
            metrics_table(data.metrics) + '<p class="note">Measured in inference mode after training.</p>',
        )
    if data.history is not None:
        svgs = history_svgs(data.history, data.metric)
        rows = [[e(_fmt(v)) for v in row] for row in data.history.itertuples(index=False)]
        plots = '<div class="plots">' + "".join(svgs) + "</div>" if svgs else ""
        page.add(
            "curves",
            "Learning curves per epoch",
            _svg_or_note(plots or None, "history.csv holds neither the loss nor the metric")
            + "<details><summary>history.csv</summary>"
            + table([str(c) for c in data.history.columns], rows)
            + "</details>",
        )
    page.add("diagnosis", "Diagnosis", _diagnosis_body(data))
    if data.confusion is not None:
        body = [
            confusion_svg(data.confusion, data.classes),
            '<p class="note">dev set: rows true class, columns predicted class.</p>',
        ]
        if len(data.classes) <= MAX_TABLE_CLASSES:
            body.append(_confusion_table(data.confusion, data.classes))
        page.add("confusion", "Confusion matrix (dev)", "\n".join(body))
    if data.errors_html is not None:
        errors = data.errors_html
        if data.confusion is not None:  # drawn once, in its own section
            errors = re.sub(
                r"<h3>Confusion matrix</h3>\s*<svg\b.*?</svg>", "", errors, count=1, flags=re.DOTALL
            )
        page.add("errors", "Error analysis", responsive_all(errors))
    if data.learning_curve is not None:
        from dlkit.reporting.learning_curve import learning_curve_html

        curve = learning_curve_html(data.learning_curve).replace("<h2>Learning curve</h2>", "", 1)
        page.add("learning-curve", "Learning curve (error vs training examples)", responsive_all(curve))
    page.add("recipe", "Recipe", _recipe(data.recipe_text))
    if data.notes:
        page.add("notes", "Notes", _notes(data.notes))
    return page.render(header)


def _trial_rows(data: StudyReport) -> tuple[list[str], list[list[str]], list[str]]:
    paths = [d.path for d in data.dims] or sorted({p for r in data.records for p in r.values})
    metric_names: list[str] = []
    for r in data.records:
        metric_names += [m for m in r.metrics if m not in metric_names and m != data.objective]
    head = [
        "rank",
        "trial",
        "round",
        "status",
        data.objective,
        "feasible",
        *paths,
        *metric_names,
        "epochs",
        "duration (s)",
        "note",
    ]
    rows, classes = [], []
    position = 0
    for r in data.records:
        ok = r.status == "COMPLETED" and bool(r.feasible)
        position += ok
        name = e(r.trial)
        link = data.trial_links.get(r.trial)
        note = r.reason or "; ".join(r.violations)
        rows.append(
            [
                str(position) if ok else "–",
                f'<a href="{e(link)}">{name}</a>' if link else name,
                str(r.round),
                e(r.status),
                e(_fmt(r.objective)),
                e(_fmt(r.feasible)),
                *(e(_fmt(r.values.get(p))) for p in paths),
                *(e(_fmt(r.metrics.get(m))) for m in metric_names),
                str(r.epochs),
                e(f"{r.duration_s:.1f}"),
                e(note),
            ]
        )
        classes.append("failed" if r.status != "COMPLETED" else "best" if r.trial == data.best_trial else "")
    return head, rows, classes


def study_report_html(data: StudyReport) -> tuple[str, list[str]]:
    """The page of one tuning study, and its section ids in order."""
    info = data.info
    counts: dict[str, int] = {}
    for r in data.records:
        counts[r.status] = counts.get(r.status, 0) + 1
    page = _Page(f"Study {data.name}")
    header = _meta(
        [
            ("study", e(data.name)),
            ("run id", e(str(info.get("run_id") or "–"))),
            ("status", e(str(info.get("status") or "–"))),
            ("started", e(str(info.get("started") or "–"))),
            ("finished", e(str(info.get("finished") or "–"))),
            ("recipe", e(str(info.get("recipe_name") or "–"))),
            ("objective", e(f"{data.objective} ({data.direction}imise)")),
            ("best trial", e(data.best_trial or "none feasible yet")),
            ("trials", e(", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "none")),
            ("MLflow", _link(data.link, "open the study in the MLflow UI")),
            ("study directory", e(str(data.study_dir))),
        ]
    )
    head, rows, classes = _trial_rows(data)
    page.add(
        "trials",
        "Trials",
        table(head, rows, classes)
        + '<p class="note">Best first; feasible completed trials are ranked. Failed trials are marked red, '
        "the best trial green.</p>",
    )
    plots = [objective_svg(data.records, d, data.objective, data.best_trial) for d in data.dims]
    progress = progress_svg(data.records, data.objective, data.direction)
    body = [p for p in (progress, *plots) if p is not None]
    plots_html = '<div class="plots">' + "\n".join(body) + "</div>" if body else ""
    page.add("plots", "Plots", plots_html or '<p class="note">No completed trial to plot.</p>')
    page.add("recipe", "Recipe", _recipe(data.recipe_text))
    if data.notes:
        page.add("notes", "Notes", _notes(data.notes))
    return page.render(header)
