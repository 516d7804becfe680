"""The report plots written as SVG text (dlkit/reporting/_svg.py): what is drawn where."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dlkit.reporting._svg import BLUES, _blue, bars_svg, matrix_svg, nice_ticks
from dlkit.reporting.html import responsive_svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (21.0, [0, 5, 10, 15, 20, 25]),
        (1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.07, [0, 0.02, 0.04, 0.06, 0.08]),
        (13.0, [0, 2.5, 5, 7.5, 10, 12.5, 15]),
        (0.0, [0, 1]),
    ],
)
def test_nice_ticks(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == pytest.approx(ticks)


def test_bars_are_as_tall_as_their_values_with_intervals_and_the_line() -> None:
    svg = bars_svg(
        ["train", "dev <b>"],
        [10.0, 5.0],
        [8.0, 2.0],
        [12.0, 9.0],
        line=2.0,
        line_label="human level",
        ylabel="error (%)",
    )
    root = _tree(svg)
    assert root.get("width") == "360pt" and root.get("viewBox") == "0 0 360 216"
    bars = [r for r in root.findall("s:rect", NS) if r.get("fill") == "#4c72b0"]
    assert [b.find("s:title", NS).text for b in bars] == ["train", "dev <b>"]  # escaped, read back
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == pytest.approx(2 * heights[1])  # 10 against 5
    # ticks 0..15 (13.0 * 1.05 = 12.6 at most: steps of 2.5): the axis is 180 high
    assert heights[0] == pytest.approx(180 * 10 / 15)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:7] == ["0", "2.5", "5", "7.5", "10", "12.5", "15"]
    assert {"train", "dev <b>", "human level", "error (%)"} <= set(texts)
    assert "&lt;b&gt;" in svg
    line = next(p for p in root.findall("s:path", NS) if "c44e52" in (p.get("style") or ""))
    bottom = 216 - 26
    assert float(line.get("d").split()[1].split("H")[0]) == pytest.approx(bottom - 180 * 2 / 15)
    # responsive in a page: the width becomes a limit
    assert "max-width:min(100%,360pt)" in responsive_svg(svg)


def test_matrix_cells_are_shaded_by_count_and_counted() -> None:
    matrix = np.array([[50, 3], [4, 28]])
    root = _tree(matrix_svg(matrix.tolist(), ["benign", "malignant"]))
    cells = [r for r in root.findall("s:rect", NS) if r.find("s:title", NS) is not None]
    assert [c.find("s:title", NS).text for c in cells] == [
        "benign → benign: 50",
        "benign → malignant: 3",
        "malignant → benign: 4",
        "malignant → malignant: 28",
    ]
    assert cells[0].get("fill") == BLUES[-1] and cells[1].get("fill") == BLUES[0]  # largest, smallest
    counts = {
        t.text: t.get("fill") for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text.isdigit()
    }
    assert counts == {"50": "#ffffff", "3": "#000000", "4": "#000000", "28": "#ffffff"}  # white past half


def test_matrix_of_many_classes_has_no_counts_and_upright_labels() -> None:
    n = 25
    svg = matrix_svg(np.eye(n, dtype=int).tolist(), [f"class {k}" for k in range(n)])
    root = _tree(svg)
    texts = list(root.iter("{http://www.w3.org/2000/svg}text"))
    assert not [t for t in texts if t.text == "1"]
    assert sum("rotate(-90" in (t.get("transform") or "") for t in texts) == n + 1  # column labels, "true"


def test_blue_interpolates_the_colour_map() -> None:
    assert _blue(0.0) == "#f7fbff" and _blue(1.0) == "#08306b" and _blue(0.5) == BLUES[4]
    assert _blue(1 / 16) == "#eaf3fb"  # halfway from f7fbff to deebf7 (234.5 rounds to even)


def test_confusion_matrix_of_integer_classes() -> None:
    from dlkit.reporting.errors import confusion_svg

    root = _tree(confusion_svg(np.array([[5, 1], [0, 7]]), [0, 1]))  # type: ignore[list-item]
    titles = [
        r.find("s:title", NS).text for r in root.findall("s:rect", NS) if r.find("s:title", NS) is not None
    ]
    assert titles == ["0 → 0: 5", "0 → 1: 1", "1 → 0: 0", "1 → 1: 7"]
