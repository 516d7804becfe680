"""The report page's renderer and the reading of stored pages: no training, no MLflow."""

from __future__ import annotations

import re
from pathlib import Path

from dlkit.reporting.html import metrics_table, responsive_svg, study_report_html
from dlkit.runs.report import StudyReport, stored_body
from dlkit.tuning.space import dimensions
from dlkit.tuning.spec import TuneSpec
from dlkit.tuning.study import TrialRecord, rank


def test_responsive_svg_drops_the_fixed_size_and_keeps_the_view_box() -> None:
    svg = (
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="460.8pt" height="345.6pt" '
        'viewBox="0 0 460.8 345.6">\n<g/></svg>'
    )
    out = responsive_svg(svg)
    assert out.startswith("<svg") and 'viewBox="0 0 460.8 345.6"' in out
    assert not re.search(r"\s(width|height)=", out)
    assert 'style="width:100%;max-width:min(100%,460.8pt);height:auto"' in out


def test_metrics_table_tags_each_cell_with_its_set_and_metric() -> None:
    page = metrics_table({"dev": {"n": 270, "accuracy": 0.47037}, "train": {"n": 1078, "accuracy": 0.5}})
    assert page.index(">train<") < page.index(">dev<")  # sets in split order
    assert 'data-metric="dev.accuracy">0.4704<' in page and 'data-metric="train.n">1,078<' in page


def _record(
    trial: str, kt: str, status: str, lr: float, objective: float | None, **kw: object
) -> TrialRecord:
    return TrialRecord(trial, 1, kt, status, {"train.optimizer.learning_rate": lr}, objective, **kw)  # type: ignore[arg-type]


def test_study_page_marks_failed_trials_and_reads_log_axes(tmp_path: Path) -> None:
    spec = TuneSpec.model_validate({"space": {"train.optimizer.learning_rate": {"log": [1e-3, 1e-1]}}})
    records = [
        _record("r1-t0", "0", "COMPLETED", 0.003, 0.81, feasible=True),
        _record("r1-t1", "1", "FAILED", 0.09, None, reason="loss became NaN at <epoch 2>"),
        _record("r1-t2", "2", "COMPLETED", 0.03, 0.92, feasible=True),
    ]
    data = StudyReport(
        name="s",
        study_dir=tmp_path,
        info={"run_id": None, "status": "FINISHED"},
        recipe_text="name: s\n",
        records=rank(records, "max"),
        dims=dimensions(spec),
        objective="dev_accuracy",
        direction="max",
        best_trial="r1-t2",
    )
    page, sections = study_report_html(data)
    assert sections == ["trials", "plots", "recipe"]
    rows = re.findall(r"<tr( class=\"\w+\")?><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert [(cls, rank_, trial) for cls, rank_, trial in rows] == [
        (' class="best"', "1", "r1-t2"),
        ("", "2", "r1-t0"),
        (' class="failed"', "–", "r1-t1"),
    ]
    assert "loss became NaN at &lt;epoch 2&gt;" in page and "<epoch" not in page
    assert "failed / not completed" in page  # the progress plot marks the failed trial
    # the learning rate's axis is logarithmic, with plain labels at 1, 2 and 5 times powers of ten
    [lr_plot] = [
        svg for svg in page.split("<svg")[1:] if "dev_accuracy vs train.optimizer.learning_rate" in svg
    ]
    ticks = re.findall(r">(0\.0\d+)</text>", lr_plot)
    assert {"0.005", "0.01", "0.02"} <= set(ticks)
    assert "1 completed" not in page and "1 failed" in page and "2 completed" in page


def test_a_stored_page_is_embedded_with_its_headings_one_level_down(tmp_path: Path) -> None:
    page = tmp_path / "errors.html"
    page.write_text(
        "<html><head><title>t</title></head><body>\n<h1>Error analysis of r</h1>\n<h2>Per class</h2>"
        '<img src="data:image/png;base64,AAAA"><h3>x</h3></body></html>'
    )
    body = stored_body(page)
    assert body is not None and "<h1>" not in body
    assert "<h3>Per class</h3>" in body and "<h4>x</h4>" in body and "data:image/png" in body
    for foreign in ("<script>alert(1)</script>", '<img src="http://example.com/a.png">', "<iframe></iframe>"):
        page.write_text(f"<html><body><h2>a</h2>{foreign}</body></html>")
        assert stored_body(page) is None
    assert stored_body(tmp_path / "missing.html") is None
