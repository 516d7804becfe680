"""Small report plots written as SVG text: bars with intervals, and a matrix of counts.

``diagnose`` and ``analyze-errors`` draw one simple plot each; importing matplotlib for it cost
about 1.2 s of CPU, more than the rest of either command. These plots are a few rectangles,
lines and labels, so they are written directly: text stays text (readable when scaled down,
searchable), sizes are in points as matplotlib's are (``responsive_svg`` reads ``width``), and
the same input gives the same bytes. Every label is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

FONT = "font-family:DejaVu Sans,Arial,sans-serif"
# matplotlib's "Blues" colour map (ColorBrewer), from no count to the largest
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
CHAR_WIDTH = 0.6  # average width of a character, in font sizes: room for labels


def _n(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(x: float, y: float, label: str, size: float, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" style="{FONT};font-size:{_n(size)}px"'
        f"{extra}>{html.escape(label)}</text>"
    )


def _document(width: float, height: float, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}pt" height="{_n(height)}pt" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" version="1.1">\n'
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )


def nice_ticks(top: float, most: int = 6) -> list[float]:
    """Ticks from 0 to at least ``top`` in steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [round(k * step, 12) for k in range(count + 1)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


def bars_svg(
    labels: Sequence[str],
    values: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    line: float,
    line_label: str,
    ylabel: str,
    width: float = 360.0,
    height: float = 216.0,
) -> str:
    """Bars with their intervals (``low`` to ``high``) and a dashed reference line across them.

    Args:
        labels: one label per bar.
        values: bar heights (>= 0).
        low: lower end of each interval.
        high: upper end of each interval.
        line: height of the reference line (e.g. human-level error).
        line_label: its name in the legend.
        ylabel: the vertical axis' label.
        width: width in points.
        height: height in points.

    Returns:
        An SVG document (``<svg ...>...</svg>``).
    """
    ticks = nice_ticks(max([*values, *high, line, 0.0]) * 1.05)
    top = ticks[-1]
    tick_width = max(len(_tick_label(t)) for t in ticks) * CHAR_WIDTH * 10
    left, right, upper, lower = 24 + tick_width + 8, 10.0, 10.0, 26.0
    plot_w, plot_h = width - left - right, height - upper - lower

    def y(value: float) -> float:
        return upper + plot_h * (1 - max(0.0, min(value, top)) / top)

    parts = ['<g style="stroke:#000000;stroke-width:0.8">']
    parts.append(f'<path d="M{_n(left)} {_n(upper)}V{_n(upper + plot_h)}H{_n(left + plot_w)}" fill="none"/>')
    for t in ticks:
        parts.append(f'<path d="M{_n(left - 3.5)} {_n(y(t))}H{_n(left)}"/>')
    parts.append("</g>")
    for t in ticks:
        parts.append(_text(left - 6, y(t) + 3.5, _tick_label(t), 10, "end"))
    slot = plot_w / max(len(labels), 1)
    for k, (label, value, lo, hi) in enumerate(zip(labels, values, low, high, strict=True)):
        centre = left + slot * (k + 0.5)
        bar = slot * 0.8
        parts.append(
            f'<rect x="{_n(centre - bar / 2)}" y="{_n(y(value))}" width="{_n(bar)}" '
            f'height="{_n(y(0) - y(value))}" fill="#4c72b0"><title>{html.escape(label)}</title></rect>'
        )
        cap = 4.0
        ends = "".join(f"M{_n(centre - cap)} {_n(y(v))}H{_n(centre + cap)}" for v in (lo, hi))
        parts.append(
            f'<path d="M{_n(centre)} {_n(y(lo))}V{_n(y(hi))}{ends}" style="stroke:#000000;stroke-width:1.2"/>'
        )
        parts.append(f'<path d="M{_n(centre)} {_n(y(0))}v3.5" style="stroke:#000000;stroke-width:0.8"/>')
        parts.append(_text(centre, y(0) + 15, label, 10))
    parts.append(
        f'<path d="M{_n(left)} {_n(y(line))}H{_n(left + plot_w)}" '
        'style="stroke:#c44e52;stroke-width:1.5;stroke-dasharray:5.5,2.4"/>'
    )
    # the legend, top left as matplotlib's loc="upper left"
    legend_w = 36 + len(line_label) * CHAR_WIDTH * 10
    parts.append(
        f'<rect x="{_n(left + 6)}" y="{_n(upper + 6)}" width="{_n(legend_w)}" height="20" '
        'fill="#ffffff" fill-opacity="0.8" style="stroke:#cccccc;stroke-width:0.8"/>'
    )
    parts.append(
        f'<path d="M{_n(left + 12)} {_n(upper + 16)}h20" '
        'style="stroke:#c44e52;stroke-width:1.5;stroke-dasharray:5.5,2.4"/>'
    )
    parts.append(_text(left + 38, upper + 19.5, line_label, 10, "start"))
    centre_y = upper + plot_h / 2
    parts.append(_text(14, centre_y, ylabel, 10, "middle", f' transform="rotate(-90 14 {_n(centre_y)})"'))
    return _document(width, height, parts)


def _blue(share: float) -> str:
    """The colour of a cell at ``share`` of the largest count (0 to 1), interpolated in BLUES."""
    position = max(0.0, min(share, 1.0)) * (len(BLUES) - 1)
    k = min(int(position), len(BLUES) - 2)
    frac = position - k
    a, b = BLUES[k], BLUES[k + 1]
    channels = (round(int(a[i : i + 2], 16) * (1 - frac) + int(b[i : i + 2], 16) * frac) for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in channels)


def matrix_svg(
    matrix: Sequence[Sequence[int]],
    labels: Sequence[str],
    *,
    xlabel: str = "predicted",
    ylabel: str = "true",
    counts_up_to: int = 20,
) -> str:
    """A square matrix of counts as coloured cells (rows ``ylabel``, columns ``xlabel``).

    Cells are shaded from the smallest count (lightest) to the largest (darkest), as
    matplotlib's ``imshow`` with the ``Blues`` map; with at most ``counts_up_to`` labels each
    non-zero count is written in its cell (white on the darker half).

    Returns:
        An SVG document (``<svg ...>...</svg>``).
    """
    n = len(labels)
    cell = max(28.0, min(100.0, 220.0 / max(n, 1)))  # a few classes still fill a readable square
    longest = max((len(label) for label in labels), default=1) * CHAR_WIDTH * 10
    rotate = longest > cell - 6  # column labels wider than their column stand upright
    left = 26 + longest + 8
    lower = 30 + (longest if rotate else 12)
    upper, right = 10.0, 10.0 + (0 if rotate else longest / 2)
    width, height = left + n * cell + right, upper + n * cell + lower
    values = [int(v) for row in matrix for v in row]
    smallest, largest = (min(values), max(values)) if values else (0, 0)
    span = largest - smallest
    top = largest or 1
    parts = []
    for i, row in enumerate(matrix):
        for j, raw in enumerate(row):
            count = int(raw)
            x, y = left + j * cell, upper + i * cell
            colour = _blue((count - smallest) / span if span else 0.0)
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(cell)}" height="{_n(cell)}" fill="{colour}">'
                f"<title>{html.escape(f'{labels[i]} → {labels[j]}: {count}')}</title></rect>"
            )
            if n <= counts_up_to and count:
                ink = "#ffffff" if count > top / 2 else "#000000"
                size = max(8.0, min(12.0, cell / 4))
                parts.append(
                    _text(x + cell / 2, y + cell / 2 + size / 3, str(count), size, extra=f' fill="{ink}"')
                )
    parts.append(
        f'<rect x="{_n(left)}" y="{_n(upper)}" width="{_n(n * cell)}" height="{_n(n * cell)}" '
        'fill="none" style="stroke:#000000;stroke-width:0.8"/>'
    )
    bottom = upper + n * cell
    for k, label in enumerate(labels):
        centre = k * cell + cell / 2
        parts.append(_text(left - 6, upper + centre + 3.5, label, 10, "end"))
        if rotate:
            x = left + centre + 3.5
            turn = f' transform="rotate(-90 {_n(x)} {_n(bottom + 8)})"'
            parts.append(_text(x, bottom + 8, label, 10, "end", turn))
        else:
            parts.append(_text(left + centre, bottom + 15, label, 10))
    parts.append(_text(left + n * cell / 2, height - 8, xlabel, 10))
    centre_y, x = upper + n * cell / 2, left - longest - 16
    parts.append(_text(x, centre_y, ylabel, 10, "middle", f' transform="rotate(-90 {_n(x)} {_n(centre_y)})"'))
    return _document(width, height, parts)
