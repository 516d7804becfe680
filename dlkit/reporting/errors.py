"""Rendering of ``dlkit analyze-errors``: rich tables, the examples page and the HTML report.

One result object is drawn two ways (terminal and HTML), with the reading its task gives: a
classification's per-class tables and confusion matrix, a sequence task's scores per set and
worst examples, a regression's largest errors, residuals by slice and residual plot, and a
multitask run's classification tables per task.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlkit._lazy import lazy_module
from dlkit.analysis.error_analysis import records

if TYPE_CHECKING:
    import pandas as pd

    from dlkit.analysis.ctc_errors import CTCErrors
    from dlkit.analysis.detection import DetectionErrors
    from dlkit.analysis.error_analysis import CategoryReport, CategoryRow, SetReport
    from dlkit.analysis.residuals import RegressionReport
    from dlkit.analysis.sequence_errors import SequenceReport
    from dlkit.runs.analyze_errors import AnalyzeErrorsResult
    from dlkit.runs.attention import AttentionMap
    from dlkit.runs.corrections import ApplyCorrectionsResult
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")

TOP_SLICES = 10
TOP_ISSUES = 20


def _pct(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.2f}"


# ---------------------------------------------------------------- rows shared by every format

_CAT_HEAD = [
    "category",
    "source",
    "count",
    "share of errors",
    "95% interval",
    "ceiling (points)",
    "dev error at best",
]


def _rows_categories(c: CategoryReport) -> list[list[str]]:
    return _rows_cat_list(c.categories)


def _rows_cat_list(categories: list[CategoryRow]) -> list[list[str]]:
    return [
        [
            r.name,
            r.source,
            str(r.count),
            _pct(r.share),
            f"{_pct(r.share_low)} to {_pct(r.share_high)}",
            _points(r.ceiling),
            _pct(r.error_if_fixed),
        ]
        for r in categories
    ]


_CLASS_HEAD = ["class", "precision", "recall", "F1", "support"]
_PAIR_HEAD = ["true", "predicted", "count", "share of errors"]
_SLICE_HEAD = ["column", "value", "n", "errors", "error rate", "95% interval", "x base rate"]
_LOSS_HEAD = ["id", "true", "predicted", "confidence", "loss"]
_ISSUE_HEAD = ["id", "set", "given", "suggested", "p(given)", "p(suggested)"]


def _rows_classes(w: SetReport) -> list[list[str]]:
    return [
        [c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support)] for c in w.per_class
    ]


def _rows_pairs(w: SetReport) -> list[list[str]]:
    return [[p.true, p.predicted, str(p.count), _pct(p.share_of_errors)] for p in w.confused_pairs]


def _rows_slices(w: SetReport | SequenceReport) -> list[list[str]]:
    return [
        [
            s.column,
            s.value,
            str(s.n),
            str(s.n_errors),
            _pct(s.error_rate),
            f"{_pct(s.low)} to {_pct(s.high)}",
            f"{s.ratio:.2f}",
        ]
        for s in w.slices[:TOP_SLICES]
    ]


def _rows_loss(w: SetReport) -> list[list[str]]:
    return [
        [
            str(row["id"]),
            str(row["y_true"]),
            str(row["y_pred"]),
            f"{row['confidence']:.3f}",
            f"{row['loss']:.3f}",
        ]
        # records keep each column's type (iterrows would turn a row of numbers into floats)
        for row in records(w.highest_loss)
    ]


# a sequence task's reading
_LENGTH_HEAD = ["length", "n", "errors", "error rate", "95% interval"]


def _unit(q: SequenceReport) -> str:
    """``token accuracy`` or ``step accuracy``."""
    return q.score.replace("_", " ")


def _worst_order(q: SequenceReport) -> str:
    return "lowest" if q.higher_better else "highest"


def _seq_sets_head(q: SequenceReport) -> list[str]:
    pooled = " (over steps)" if q.weighted else " (mean per example)"
    return ["set", "n", "exact match", "error (1 − exact match)", _unit(q) + pooled]


def _rows_seq_sets(q: SequenceReport) -> list[list[str]]:
    return [
        [s.set, str(s.n), _pct(s.exact_match), _pct(1 - s.exact_match), _pct(s.position_accuracy)]
        for s in q.sets
    ]


def _seq_worst_head(q: SequenceReport) -> list[str]:
    names = {"y_true": "reference", "y_pred": "predicted", q.score: _unit(q)}
    return [names.get(str(c), str(c)) for c in q.worst.columns]


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value)


def _rows_frame(frame: pd.DataFrame) -> list[list[str]]:
    return [[_cell(v) for v in row] for row in frame.itertuples(index=False)]


def _bleu_by_length(q: SequenceReport) -> bool:
    return any(r.bleu is not None for r in q.by_length)


def _length_head(q: SequenceReport) -> list[str]:
    return [*_LENGTH_HEAD, _unit(q), *(["mean sentence BLEU"] if _bleu_by_length(q) else [])]


def _rows_length(q: SequenceReport) -> list[list[str]]:
    bleu = _bleu_by_length(q)
    return [
        [
            r.length,
            str(r.n),
            str(r.n_errors),
            _pct(r.error_rate),
            f"{_pct(r.low)} to {_pct(r.high)}",
            _pct(r.position_accuracy),
            *([f"{r.bleu:.3f}" if r.bleu is not None else ""] if bleu else []),
        ]
        for r in q.by_length
    ]


def _seq_summary(q: SequenceReport, set_name: str) -> str:
    return (
        f"{set_name} error {_pct(q.error)} ({q.n_errors} of {q.n} sequences wrong; error = 1 − exact match: "
        f"a sequence is right only when all of it is)."
    )


# a regression's reading
_RESIDUAL_HEAD = ["column", "value", "n", "mean |error|", "95% interval", "mean residual", "x base"]


def _rows_largest(g: RegressionReport) -> list[list[str]]:
    return _rows_frame(g.largest)


def _largest_head(g: RegressionReport) -> list[str]:
    names = {"y_true": "true", "y_pred": "predicted", "abs_error": "|error|"}
    return [names.get(str(c), str(c)) for c in g.largest.columns]


def _rows_residual_slices(g: RegressionReport) -> list[list[str]]:
    return [
        [
            "y_true (range)" if s.column == "y_true" else s.column,
            s.value,
            str(s.n),
            f"{s.mae:.4g}",
            f"{s.low:.4g} to {s.high:.4g}" if np.isfinite(s.low) else "n/a",
            f"{s.mean_residual:+.4g}",
            f"{s.ratio:.2f}",
        ]
        for s in g.slices[:TOP_SLICES]
    ]


def _regression_summary(g: RegressionReport, set_name: str) -> str:
    return (
        f"{set_name}: {g.n} examples, mean squared error {g.mse:.4g}, mean absolute error {g.mae:.4g}, "
        f"mean residual (y_true − y_pred) {g.mean_residual:+.4g}."
    )


def _task_summary(name: str, w: SetReport, set_name: str) -> str:
    return f"Task {name}: {set_name} error {_pct(w.error)} ({w.n_errors} of {w.n} labelled examples)."


def _rows_issues(r: AnalyzeErrorsResult) -> list[list[str]]:
    assert r.label_issues is not None
    return [
        [i.id, i.set, i.given, i.suggested, f"{i.label_quality:.3f}", f"{i.suggested_proba:.3f}"]
        for i in r.label_issues.issues[:TOP_ISSUES]
    ]


def _labels_lines(c: CategoryReport) -> list[str]:
    lab = c.labels
    if lab is None:
        return []
    verdict = "worth fixing now" if lab.worth_fixing else "not the first thing to fix"
    return [
        f"Incorrectly labelled: {lab.count} of {c.n_reviewed} reviewed errors ({_pct(lab.share)}), "
        f"{_points(lab.ceiling)} points of dev error. Dev error corrected for them: "
        f"{_pct(lab.corrected_dev_error)} (measured {_pct(c.dev_error)}).",
        f"Labels: {verdict}: {lab.reason}.",
        lab.reminder,
    ]


def _issues_lines(r: AnalyzeErrorsResult) -> list[str]:
    li = r.label_issues
    assert li is not None
    lines = [
        f"Suspected label errors in {' + '.join(li.sets) or 'dev'}: {len(li.issues)} of {li.n_examples} "
        f"examples flagged by confident learning (cleanlab); out-of-sample accuracy {_pct(li.oos_accuracy)}; "
        "the prediction differs from the label "
        f"on {li.n_disagree}.",
        f"Probabilities: {li.source}.",
        li.caveat,
        *li.notes,
    ]
    if r.label_issues_path is not None:
        lines.append(
            f"The whole list: {r.label_issues_path}. Write the right label in its corrected_label column "
            f"for each flag you confirm, then: dlkit analyze-errors {r.run_dir} --apply-corrections "
            f"{r.label_issues_path}"
        )
    return lines


# ---------------------------------------------------------------- terminal


def _table(title: str, head: list[str], rows: list[list[str]]) -> Table:
    # cells hold labels, ids and text from the user's data: never rich markup
    table = Table(title=escape(title))
    for i, h in enumerate(head):
        table.add_column(escape(h), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _render_set_report(console: Console, w: SetReport) -> None:
    console.print(_table("Per class", _CLASS_HEAD, _rows_classes(w)))
    if w.confused_pairs:
        console.print(_table("Most confused (true -> predicted)", _PAIR_HEAD, _rows_pairs(w)))
    if w.slices:
        console.print(_table("Error rate by metadata value (weakest first)", _SLICE_HEAD, _rows_slices(w)))
    console.print(_table("Highest loss", _LOSS_HEAD, _rows_loss(w)))


_BOX_HEAD = ["", "true boxes", "misses", "miss rate", "detections", "false", "false rate"]


def _rows_boxes(rows: list[Any]) -> list[list[str]]:
    return [
        [
            r.group,
            str(r.n_true),
            str(r.misses),
            _pct(r.miss_rate),
            str(r.n_pred),
            str(r.false_detections),
            _pct(r.false_rate),
        ]
        for r in rows
    ]


def _detection_tables(d: DetectionErrors) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        (
            "Misses and false detections by class (at IoU 0.5)",
            ["class", *_BOX_HEAD[1:]],
            _rows_boxes(d.by_class),
        ),
        ("By box size (side relative to the image)", ["size", *_BOX_HEAD[1:]], _rows_boxes(d.by_size)),
        (
            "False detections by best IoU with a true box of their class",
            ["IoU", "false detections"],
            [[k, str(v)] for k, v in d.by_iou],
        ),
        ("Worst images (most misses + false detections)", ["id"], [[i] for i in d.worst]),
    ]


def _detection_summary(r: AnalyzeErrorsResult) -> str:
    d = r.detection
    assert d is not None  # called only for a detection reading
    drawn = f" Worst images drawn: {r.worst_images}" if r.worst_images else ""
    share = d.n_errors / d.n_images if d.n_images else float("nan")
    return (
        f"{r.set_name}: {d.n_errors} of {d.n_images} images ({_pct(share)}) "
        f"have a miss or a false detection at IoU 0.5.{drawn}"
    )


# a CTC model's character edits
_EDIT_HEAD = ["set", "n", "characters", "edits", "CER", "substitutions", "deletions", "insertions"]


def _char(c: str) -> str:
    return repr(c) if c.strip() != c or not c else c


def _ctc_summary(c: CTCErrors) -> str:
    d = c.dev
    if d is None or not d.n_edits:
        return f"{c.set_name}: no character edits."
    ceiling = c.categories[0].ceiling if c.categories else float("nan")
    return (
        f"{c.set_name} CER {_pct(d.cer)}: {d.n_edits} edits over {d.n_chars} reference characters, "
        f"{_pct(d.share('substitution'))} substitutions, {_pct(d.share('deletion'))} deletions, "
        f"{_pct(d.share('insertion'))} insertions. Collapsed repeats (a repeated character read once: "
        f"greedy decoding merges repeats no blank separates) are the whole error of {c.n_collapsed} "
        f"examples: {c.collapsed_edits} edits, CER {_pct(d.cer)} -> {_pct(c.cer_if_fixed)} if fixed "
        f"(ceiling {_points(c.collapsed_cer)} CER points; {_points(ceiling)} points of exact-match error)."
    )


def _ctc_tables(c: CTCErrors) -> list[tuple[str, list[str], list[list[str]]]]:
    edits = [
        [
            s.set,
            str(s.n),
            str(s.n_chars),
            str(s.n_edits),
            _pct(s.cer),
            f"{s.substitutions} ({_pct(s.share('substitution'))})",
            f"{s.deletions} ({_pct(s.share('deletion'))})",
            f"{s.insertions} ({_pct(s.share('insertion'))})",
        ]
        for s in c.sets
    ]
    tables = [("Character edits per set (they sum to the CER's numerator)", _EDIT_HEAD, edits)]
    share = "share of kind"
    tables += [
        (
            f"Most frequent substitutions on {c.set_name} (true -> predicted)",
            ["true", "predicted", "count", share],
            [[_char(r.true), _char(r.predicted), str(r.count), _pct(r.share)] for r in c.substitutions],
        ),
        (
            f"Most deleted characters on {c.set_name}",
            ["true", "count", share],
            [[_char(r.true), str(r.count), _pct(r.share)] for r in c.deletions],
        ),
        (
            f"Most inserted characters on {c.set_name}",
            ["predicted", "count", share],
            [[_char(r.predicted), str(r.count), _pct(r.share)] for r in c.insertions],
        ),
        (f"CTC's failure mode on {c.set_name}: collapsed repeats", _CAT_HEAD, _rows_cat_list(c.categories)),
    ]
    if len(c.collapsed_examples):
        head = ["id", "reference", "predicted", "characters lost"]
        tables.append(("Collapsed-repeat examples", head, _rows_frame(c.collapsed_examples)))
    return tables


def _render_ctc(console: Console, c: CTCErrors) -> None:
    console.print(_ctc_summary(c), highlight=False, markup=False)
    for title, head, rows in _ctc_tables(c):
        console.print(_table(title, head, rows))


def _render_sequence(console: Console, q: SequenceReport) -> None:
    unit = _unit(q)
    console.print(_table(f"Exact match and {unit} per set", _seq_sets_head(q), _rows_seq_sets(q)))
    if len(q.worst):
        title = f"Worst examples (wrong sequences, {_worst_order(q)} {unit} first)"
        console.print(_table(title, _seq_worst_head(q), _rows_frame(q.worst)))
    console.print(_table("Error by reference length", _length_head(q), _rows_length(q)))
    if q.slices:
        console.print(_table("Error rate by metadata value (weakest first)", _SLICE_HEAD, _rows_slices(q)))


def _render_regression(console: Console, g: RegressionReport) -> None:
    console.print(_table("Largest absolute errors", _largest_head(g), _rows_largest(g)))
    console.print(
        _table(
            "Residuals by range of the true value and by metadata value (weakest first)",
            _RESIDUAL_HEAD,
            _rows_residual_slices(g),
        )
    )


def render_errors(console: Console, r: AnalyzeErrorsResult) -> None:
    """The whole analysis as rich tables and lines."""
    name = escape(r.run_name)
    if r.whole_set is not None:
        w = r.whole_set
        console.print(
            f"Error analysis of run '{name}': {r.set_name} error {_pct(w.error)} ({w.n_errors} of {w.n})."
        )
    elif r.sequence is not None:
        console.print(
            f"Error analysis of run '{name}': {_seq_summary(r.sequence, r.set_name)}", highlight=False
        )
    elif r.regression is not None:
        console.print(
            f"Error analysis of run '{name}': {_regression_summary(r.regression, r.set_name)}",
            highlight=False,
        )
    elif r.detection is not None:
        console.print(f"Error analysis of run '{name}': {escape(_detection_summary(r))}", highlight=False)
    elif r.parts is not None:
        console.print(
            f"Error analysis of run '{name}': {r.set_name}: {r.parts.summary}", highlight=False, markup=False
        )
    else:
        console.print(
            f"Error analysis of run '{name}': {len(r.per_task)} tasks, each read as a binary "
            f"classification of its labelled {r.set_name} examples.",
            highlight=False,
        )
    if r.sheet_written and r.sheet_path is not None:
        console.print(f"Sheet of {r.n_sampled} dev errors: {r.sheet_path} (and .parquet).", highlight=False)
        if r.examples_path:
            console.print(f"Look at them: {r.examples_path}", highlight=False)
        cats = ", ".join(r.spec.sheet_categories())
        console.print(
            f"Tag each row (1/x/yes = in the category; columns: {cats}; add columns for new "
            f"categories), then: dlkit analyze-errors {r.run_dir} --tags {r.sheet_path}",
            highlight=False,
        )
    c = r.categories
    if c is not None:
        title = (
            f"Error categories ({c.n_reviewed} errors reviewed of {c.n_errors}; "
            f"dev error {_pct(c.dev_error)})"
        )
        console.print(_table(title, _CAT_HEAD, _rows_categories(c)))
        console.print("Categories overlap; work on the highest ceilings first. Ceiling = share x dev error.")
        if c.n_untagged:
            console.print(f"{c.n_untagged} reviewed error(s) carry no category.")
        for line in _labels_lines(c) if r.tags_path else []:
            console.print(line, highlight=False)
        if c.comments:
            console.print("Comments:")
            for ident, text in c.comments:
                console.print(f"  {ident}: {text}", highlight=False, markup=False)
    if r.whole_set is not None:
        _render_set_report(console, r.whole_set)
    if r.sequence is not None:
        _render_sequence(console, r.sequence)
    if r.ctc is not None:
        _render_ctc(console, r.ctc)
    if r.regression is not None:
        _render_regression(console, r.regression)
    if r.detection is not None:
        for title, head, rows in _detection_tables(r.detection):
            console.print(_table(title, head, rows))
    for title, table in r.parts.tables if r.parts is not None else []:
        console.print(_table(title, [str(c) for c in table.columns], _rows_frame(table)))
    for task, w in r.per_task.items():
        console.rule(escape(f"Task {task}"), style="bold")
        console.print(_task_summary(task, w, r.set_name), highlight=False, markup=False)
        _render_set_report(console, w)
    if r.label_issues is not None:
        if r.label_issues.issues:
            console.print(_table("Suspected label errors (most suspect first)", _ISSUE_HEAD, _rows_issues(r)))
        for line in _issues_lines(r):
            console.print(line, highlight=False)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)
    if r.report_path:
        console.print(f"Report: {r.report_path}", highlight=False)
    if r.logged:
        console.print(f"Logged to MLflow run {r.run_id} ({r.tracking_uri}).", highlight=False)
    elif r.logging_error:
        console.print(f"[yellow]Not logged to MLflow:[/yellow] {html.escape(r.logging_error)}")


def render_corrections(console: Console, r: ApplyCorrectionsResult) -> None:
    """The corrections file written by ``--apply-corrections`` and how to train with it."""
    per_set = ", ".join(f"{n} in {s}" for s, n in sorted(r.by_set.items())) or "none"
    console.print(
        f"{r.n_new} label correction(s) from {r.sheet_path} ({per_set}); "
        f"{r.n_earlier} earlier kept; {r.n_total} in all.",
        highlight=False,
    )
    if r.n_new:
        table = Table(title="New corrections")
        for head in ("id", "set", "label was", "label now"):
            table.add_column(head)
        for row in r.corrections.itertuples(index=False):
            table.add_row(str(row.id), str(row.set), str(row.previous_label), str(row.label))
        console.print(table)
    console.print(f"Corrections file: {r.path}", highlight=False)
    if r.copy_path:
        console.print(f"Copied to: {r.copy_path}", highlight=False)
    console.print(
        f"The next training applies them to every set: add 'corrections: {r.recipe_path}' under "
        f"data in the recipe, or pass --set data.corrections={r.recipe_path}",
        highlight=False,
        soft_wrap=True,
    )
    for note in r.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if r.logged:
        console.print("Logged to the run's MLflow run (analysis/corrections.csv).", highlight=False)


# ---------------------------------------------------------------- HTML

_CSS = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em}"
    "td{text-align:right}td:first-child{text-align:left}"
    "img.thumb{width:64px;height:64px;image-rendering:pixelated}"
)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    out = ["<table>", "<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "\n".join(out)


def _page(title: str, body: list[str]) -> str:
    t = html.escape(title)
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{t}</title><style>{_CSS}</style>'
        f"</head><body>\n<h1>{t}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def thumbnail_png(image: np.ndarray) -> str:
    """A grey-scale image `(height, width)` as a base64 PNG data URI (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    buf = io.BytesIO()
    plt.imsave(buf, np.asarray(image, dtype=np.float64), cmap="gray_r", format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def examples_html(
    run_name: str,
    sheet: pd.DataFrame,
    inputs: tuple[str, Any] | None,
    what: str = "misclassified dev examples",
) -> str:
    """A page showing every example of the sheet: its thumbnail or feature values, labels, loss."""
    e = html.escape
    info_cols = [c for c in sheet.columns if not pd.api.types.is_bool_dtype(sheet[c]) and c != "comments"]
    head = (["input"] if inputs is not None and inputs[0] == "image" else []) + info_cols
    features: pd.DataFrame | None = None
    if inputs is not None and inputs[0] == "tabular":
        features = inputs[1]
        head = head + [str(c) for c in features.columns]
    rows = ["<table>", "<tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>"]
    for k, (_, row) in enumerate(sheet.iterrows()):
        cells = []
        if inputs is not None and inputs[0] == "image":
            cells.append(
                f'<img class="thumb" alt="example {e(str(row["id"]))}" src="{thumbnail_png(inputs[1][k])}">'
            )
        for c in info_cols:
            value = row[c]
            cells.append(e(f"{value:.3f}" if isinstance(value, float) else str(value)))
        if features is not None:
            # typed table columns hold strings too (categories, text)
            cells += [
                e(f"{v:.4g}" if isinstance(v, (int, float)) else str(v)) for v in features.iloc[k].tolist()
            ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    rows.append("</table>")
    intro = (
        f"<p>{len(sheet)} {e(what)}, in the order of the sheet (errors.csv). "
        "Tag them in the sheet: one yes/no column per category, comments in the last column.</p>"
    )
    return _page(f"Dev errors of {run_name}", [intro, *rows])


def confusion_svg(matrix: np.ndarray, classes: list[str]) -> str:
    """The confusion matrix (rows true, columns predicted) as inline SVG, counts in the cells."""
    from dlkit.reporting._svg import matrix_svg

    return matrix_svg(np.asarray(matrix).tolist(), [str(c) for c in classes])


def residual_plot_svg(g: RegressionReport, max_points: int = 5000) -> str:
    """Predicted value against residual (y_true − y_pred), with the zero line, as inline SVG.

    Beyond ``max_points`` examples, a fixed seeded sample of them is drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    predicted, residual = g.predicted, g.residuals
    if len(predicted) > max_points:
        rows = np.random.default_rng(0).choice(len(predicted), size=max_points, replace=False)
        predicted, residual = predicted[rows], residual[rows]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.scatter(predicted, residual, s=8, alpha=0.5, color="#4c72b0")
    ax.axhline(0.0, color="#c44e52", linestyle="--", linewidth=1)
    ax.set_xlabel("predicted")
    ax.set_ylabel("residual (true − predicted)")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def _html_set_report(w: SetReport, level: int = 2) -> list[str]:
    h = f"h{level}"
    body = [
        f"<{h}>Confusion matrix</{h}>",
        confusion_svg(w.confusion, w.classes),
        f"<{h}>Per class</{h}>",
        _html_table(_CLASS_HEAD, _rows_classes(w)),
        f"<{h}>Most confused</{h}>",
        _html_table(_PAIR_HEAD, _rows_pairs(w)),
    ]
    if w.slices:
        body += [
            f"<{h}>Error rate by metadata value (weakest first)</{h}>",
            _html_table(_SLICE_HEAD, _rows_slices(w)),
        ]
    body += [f"<{h}>Highest loss</{h}>", _html_table(_LOSS_HEAD, _rows_loss(w))]
    return body


def _html_sequence(q: SequenceReport) -> list[str]:
    unit = html.escape(_unit(q))
    body = [f"<h2>Exact match and {unit} per set</h2>", _html_table(_seq_sets_head(q), _rows_seq_sets(q))]
    if len(q.worst):
        body += [
            f"<h2>Worst examples (wrong sequences, {_worst_order(q)} {unit} first)</h2>",
            _html_table(_seq_worst_head(q), _rows_frame(q.worst)),
        ]
    body += ["<h2>Error by reference length</h2>", _html_table(_length_head(q), _rows_length(q))]
    if q.slices:
        body += [
            "<h2>Error rate by metadata value (weakest first)</h2>",
            _html_table(_SLICE_HEAD, _rows_slices(q)),
        ]
    return body


def attention_svg(m: AttentionMap, cell: int = 18) -> str:
    """One example's attention weights as an SVG heatmap: output tokens down, input tokens across."""
    e = html.escape
    left, top = 44, 40
    width, height = left + cell * len(m.source) + 8, top + cell * len(m.target) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        f'<text x="2" y="12">{e(m.label)}: id {e(str(m.id))}</text>',
    ]
    for j, token in enumerate(m.source):
        x = left + j * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 6}" text-anchor="middle">{e(token)}</text>')
    for i, token in enumerate(m.target):
        y = top + i * cell
        parts.append(f'<text x="{left - 4}" y="{y + cell * 0.7:.0f}" text-anchor="end">{e(token)}</text>')
        for j, weight in enumerate(m.weights[i]):
            parts.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell}" height="{cell}" fill="#1f4e9a" '
                f'fill-opacity="{float(weight):.3f}" stroke="#ddd"><title>{e(m.target[i])} ← '
                f"{e(m.source[j])}: {float(weight):.3f}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _html_regression(g: RegressionReport) -> list[str]:
    return [
        "<h2>Residuals against predictions</h2>",
        residual_plot_svg(g),
        "<h2>Largest absolute errors</h2>",
        _html_table(_largest_head(g), _rows_largest(g)),
        "<h2>Residuals by range of the true value and by metadata value (weakest first)</h2>",
        _html_table(_RESIDUAL_HEAD, _rows_residual_slices(g)),
    ]


def to_html(r: AnalyzeErrorsResult) -> str:
    """The report as a standalone HTML page (plots inline: confusion matrices, residuals)."""
    e = html.escape
    sheet = f" Sheet: {e(str(r.sheet_path))}." if r.sheet_path is not None else ""
    if r.whole_set is not None:
        w = r.whole_set
        body = [f"<p>{e(r.set_name)} error {_pct(w.error)} ({w.n_errors} of {w.n}).{sheet}</p>"]
    elif r.sequence is not None:
        body = [f"<p>{e(_seq_summary(r.sequence, r.set_name))}{sheet}</p>"]
    elif r.regression is not None:
        body = [f"<p>{e(_regression_summary(r.regression, r.set_name))}</p>"]
    elif r.detection is not None:
        body = [f"<p>{e(_detection_summary(r))}</p>"]
    elif r.parts is not None:
        body = [f"<p>{e(r.set_name)}: {e(r.parts.summary)}</p>"]
    else:
        body = [
            f"<p>{len(r.per_task)} tasks, each read as a binary classification of its labelled "
            f"{e(r.set_name)} examples.</p>"
        ]
    c = r.categories
    if c is not None:
        body += [
            f"<h2>Error categories ({c.n_reviewed} reviewed of {c.n_errors} errors)</h2>",
            _html_table(_CAT_HEAD, _rows_categories(c)),
            "<p>Categories overlap; work on the highest ceilings first. Ceiling = share × dev error.</p>",
        ]
        if r.tags_path:
            body += [f"<p>{e(line)}</p>" for line in _labels_lines(c)]
        if c.comments:
            body.append(
                "<h3>Comments</h3><ul>" + "".join(f"<li>{e(i)}: {e(t)}</li>" for i, t in c.comments) + "</ul>"
            )
    if r.rules:
        body.append(
            "<h3>Rules</h3><ul>" + "".join(f"<li>{e(n)}: {e(t)}</li>" for n, t in r.rules.items()) + "</ul>"
        )
    if r.whole_set is not None:
        body += _html_set_report(r.whole_set)
    if r.sequence is not None:
        body += _html_sequence(r.sequence)
    if r.ctc is not None:
        body += ["<h2>Character edits (CTC)</h2>", f"<p>{e(_ctc_summary(r.ctc))}</p>"]
        for title, head, rows in _ctc_tables(r.ctc):
            body += [f"<h3>{e(title)}</h3>", _html_table(head, rows)]
    if r.attention:
        body += [
            f"<h2>Attention of chosen {e(r.set_name)} examples</h2>",
            "<p>Rows: the decoded output, then its end; columns: the input. A cell is the weight the "
            "decoder gave that input token to emit that output token (each row sums to 1).</p>",
            '<div class="plots">' + "".join(attention_svg(m) for m in r.attention) + "</div>",
        ]
    if r.regression is not None:
        body += _html_regression(r.regression)
    if r.detection is not None:
        for title, head, rows in _detection_tables(r.detection):
            body += [f"<h2>{e(title)}</h2>", _html_table(head, rows)]
    for title, table in r.parts.tables if r.parts is not None else []:
        body += [f"<h2>{e(title)}</h2>", _html_table([str(c) for c in table.columns], _rows_frame(table))]
    for task, w in r.per_task.items():
        body += [f"<h2>Task {e(task)}</h2>", f"<p>{e(_task_summary(task, w, r.set_name))}</p>"]
        body += _html_set_report(w, level=3)
    if r.label_issues is not None:
        body.append("<h2>Suspected label errors</h2>")
        body += [f"<p>{e(line)}</p>" for line in _issues_lines(r)]
        body.append(_html_table(_ISSUE_HEAD, _rows_issues(r)))
    if r.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    return _page(f"Error analysis of {r.run_name}", body)
