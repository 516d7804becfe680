"""Rich rendering of a split: sizes and classes, per-source shares, leakage, the dev/test check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlkit.reporting.terminal import SET_ORDER, split_table

if TYPE_CHECKING:
    from dlkit.data.manifest import ManifestCheck
    from dlkit.training.prepare import SplitOutcome


def source_table(summary: dict[str, Any]) -> Table | None:
    """Share of each value of the source column per set (None without a source column)."""
    dist = summary.get("distribution") or {}
    shares: dict[str, dict[str, float]] = dist.get("source_shares") or {}
    if not shares:
        return None
    values = sorted({v for s in shares.values() for v in s})
    table = Table(title=escape(f"Share of each '{dist['source_column']}' per set"))
    table.add_column("set", no_wrap=True)
    for v in values:
        table.add_column(v, justify="right")
    for name in SET_ORDER:
        if name in shares:
            table.add_row(name, *(f"{shares[name].get(v, 0.0):.1%}" for v in values))
    return table


def leakage_table(leakage: dict[str, Any]) -> Table:
    """Duplicates per pair of sets: the same examples (leakage), or a table's identical feature rows."""
    same_example = leakage.get("identity", "input") == "input"
    title = "Exact duplicates across sets (leakage)" if same_example else "Identical feature rows across sets"
    table = Table(title=title)
    table.add_column("sets", no_wrap=True)
    table.add_column("shared inputs" if same_example else "shared feature rows", justify="right")
    for pair, n in leakage["pairs"].items():
        table.add_row(pair.replace("/", " & "), f"{n:,}")
    return table


def columns_table(columns: list[dict[str, Any]]) -> Table:
    """Each feature column's type (inferred or from the recipe), missing values and encoding."""
    table = Table(title="Feature columns")
    for name, justify in (("column", "left"), ("type", "left"), ("missing", "right"), ("distinct", "right")):
        table.add_column(name, justify=justify, no_wrap=name == "column")  # type: ignore[arg-type]
    table.add_column("read as")
    for c in columns:
        kind = c["type"] + ("" if c["inferred"] else " (recipe)")
        table.add_row(
            escape(c["name"]), kind, f"{c['n_missing']:,}", f"{c['n_unique']:,}", escape(c["detail"])
        )
    return table


def render_split_outcome(console: Console, outcome: SplitOutcome) -> None:
    """The typed columns, the split table, source shares, dev parts, leakage and the dev-vs-test verdict."""
    summary = outcome.summary()
    if summary.get("columns"):
        console.print(columns_table(summary["columns"]))
    if summary.get("n_missing_target_dropped"):
        console.print(
            f"Dropped {summary['n_missing_target_dropped']:,} row(s) without a target (drop_missing_target).",
            highlight=False,
        )
    console.print(split_table(summary))
    sources = source_table(summary)
    if sources is not None:
        console.print(sources)
    if "dev_parts" in summary:
        parts = summary["dev_parts"]
        console.print(
            f"Dev divided: {parts['eyeball']:,} eyeball (to look at in error analysis), "
            f"{parts['blackbox']:,} black box (only measured).",
            highlight=False,
        )
    leakage = summary.get("leakage")
    if leakage and leakage["n_inputs"]:
        console.print(leakage_table(leakage))
        for example in leakage["examples"]:
            console.print(
                "  e.g. " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in example.items()),
                highlight=False,
                markup=False,
            )
    elif leakage is not None:
        console.print("No exact duplicates across sets.")
    for note in summary.get("notes", []):
        console.print(note, highlight=False)
    render_split_warnings(console, summary.get("warnings", []))
    dist = summary.get("distribution") or {}
    if not dist.get("warning") and dist.get("tests"):
        console.print(f"Dev and test look like one distribution ({len(dist['tests'])} two-sample tests).")


def render_split_warnings(console: Console, warnings: list[dict[str, Any]]) -> None:
    """The split checks' warnings (``dlkit split`` and ``dlkit train``): a yellow line each, then
    what to do."""
    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w['message'])}", highlight=False)
        console.print(f"  {w['advice']}", highlight=False, markup=False)


def render_manifest_check(console: Console, check: ManifestCheck, against: str) -> None:
    """Whether the data and the split are those of a saved manifest; what changed if not."""
    if check.same_data is True:
        console.print(
            f"Data unchanged since {against} (content hash {check.current_hash[:12]}).", highlight=False
        )
    elif check.same_data is False:
        console.print(
            f"[red]Data changed[/red] since {against}: content hash "
            f"{(check.saved_hash or '')[:12]} "
            f"-> {check.current_hash[:12]}.",
            highlight=False,
        )
    if check.reproduced:
        console.print(
            f"Split reproduced exactly: {check.n_now:,} examples in the same sets.", highlight=False
        )
        return
    table = Table(title=f"Differences from {against}")
    table.add_column("what")
    table.add_column("examples", justify="right")
    table.add_column("e.g.")
    for what, ids in (
        ("added (new ids)", check.added),
        ("removed", check.removed),
        ("inputs changed", check.changed),
    ):
        if ids:
            table.add_row(what, f"{len(ids):,}", ", ".join(map(str, ids[:3])))
    if check.moved:
        shown = ", ".join(f"{m['id']} {m['saved']}->{m['now']}" for m in check.moved[:3])
        table.add_row("in another set", f"{len(check.moved):,}", shown)
    console.print(table)
