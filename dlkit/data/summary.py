"""What a split adds to its summary and to the run directory (manifest, vocabulary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dlkit.data.checks import split_warnings
from dlkit.data.dataset import Dataset
from dlkit.data.split import DROPPED, SplitResult


def split_extras(result: SplitResult, distribution: Any = None) -> dict[str, Any]:
    """Leakage, distribution check, the warnings they raise (:func:`~dlkit.data.checks.split_warnings`),
    dev parts and notes, as plain JSON-able values."""
    extras: dict[str, Any] = {"notes": list(result.notes)}
    n_dropped = result.counts()[DROPPED]
    if n_dropped:
        extras["n_dropped"] = n_dropped
    if result.leakage is not None:
        extras["leakage"] = result.leakage.to_dict()
    if distribution is not None:
        extras["distribution"] = distribution.to_dict()
    warnings = split_warnings(result.leakage, distribution, deduped=bool(n_dropped))
    extras["warnings"] = [w.to_dict() for w in warnings]
    parts = result.dev_part
    if parts is not None:
        extras["dev_parts"] = {
            "eyeball": int((parts == "eyeball").sum()),
            "blackbox": int((parts == "blackbox").sum()),
        }
    return extras


def write_split_files(manifest_path: Path, result: SplitResult, data: Dataset) -> None:
    """The manifest (with the data's content hash in its metadata) and, for text, the vocabulary."""
    from dlkit.data.manifest import write_manifest

    write_manifest(
        manifest_path,
        result.manifest,
        {"content_hash": data.content_hash, "rule": result.rule, "source": data.description},
    )
    if data.vocabulary:
        (manifest_path.parent / "vocabulary.txt").write_text(
            "\n".join(t.replace("\n", " ") for t in data.vocabulary) + "\n", encoding="utf-8"
        )
    if "columns" in data.options:  # typed table columns: how raw rows become the model's inputs
        (manifest_path.parent / "columns.json").write_text(
            json.dumps(data.options["columns"], indent=1) + "\n", encoding="utf-8"
        )
    target_vocabulary = getattr(data, "target_vocabulary", None)
    if target_vocabulary:  # a text_pairs source's output tokens (index = token id)
        (manifest_path.parent / "target_vocabulary.txt").write_text(
            "\n".join(target_vocabulary) + "\n", encoding="utf-8"
        )


def column_extras(data: Dataset) -> dict[str, Any]:
    """The typed columns (name, type, how read) and the rows dropped for a missing target."""
    extras: dict[str, Any] = {}
    if "columns" in data.options:
        extras["columns"] = data.options["columns"]
    if data.options.get("n_missing_target_dropped"):
        extras["n_missing_target_dropped"] = data.options["n_missing_target_dropped"]
    return extras
