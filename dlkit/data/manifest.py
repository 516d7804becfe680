"""The split manifest on disk, and checking a split against one saved earlier.

``split/manifest.parquet`` holds one row per example: ``id``, ``set``, ``input_hash`` (a 64-bit
hash of the example's inputs) and, when dev is divided, ``dev_part``. The data's content hash,
seed and rule ride in the Parquet file's metadata, so the file alone says what it was made from.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlkit.data._common import release_arrow_memory
from dlkit.errors import DataError

_META_KEY = b"dlkit"


def write_manifest(path: Path, manifest: pd.DataFrame, info: dict[str, Any]) -> None:
    """Write the manifest (Parquet, or CSV by suffix) atomically, with ``info`` in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        if path.suffix.lower() == ".csv":
            manifest.to_csv(tmp, index=False)
        else:
            table = pa.Table.from_pandas(manifest, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[_META_KEY] = json.dumps(info, default=str).encode()
            # dictionaries and statistics only for the few-valued columns: ids and hashes are
            # all distinct, where a dictionary attempt is wasted work
            small = [c for c in ("set", "dev_part") if c in manifest.columns]
            pq.write_table(
                table.replace_schema_metadata(meta), tmp, use_dictionary=small, write_statistics=small
            )
        os.replace(tmp, path)
        release_arrow_memory()  # the table's copy of the id and hash columns
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_manifest(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A manifest and the info stored with it (empty for CSV or older manifests).

    Raises:
        DataError: the file is missing or has no ``id`` and ``set`` columns.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    info: dict[str, Any] = {}
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path)
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(_META_KEY)
            info = json.loads(raw) if raw else {}
            frame = table.to_pandas()
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read as a manifest: {str(exc).splitlines()[0]}") from None
    for column in ("id", "set"):
        if column not in frame.columns:
            raise DataError(f"{path}: not a split manifest (no '{column}' column)")
    return frame, info


@dataclass
class ManifestCheck:
    """A split made now against a saved manifest.

    Attributes:
        same_data: the data's content hash is the one the manifest was made from.
        reproduced: every example is in the same set (and dev part) as saved.
        n_saved, n_now: examples in each.
        added, removed: ids only in the data now / only in the saved manifest.
        changed: ids whose inputs changed (their input hash differs).
        moved: ids in another set now, as ``{"id", "saved", "now"}``.
    """

    same_data: bool | None
    reproduced: bool
    n_saved: int
    n_now: int
    saved_hash: str | None
    current_hash: str
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    changed: list[Any] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reproduced and self.same_data is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "same_data": self.same_data,
            "reproduced": self.reproduced,
            "n_saved": self.n_saved,
            "n_now": self.n_now,
            "saved_hash": self.saved_hash,
            "current_hash": self.current_hash,
            "n_added": len(self.added),
            "n_removed": len(self.removed),
            "n_changed": len(self.changed),
            "n_moved": len(self.moved),
            "added": self.added[:20],
            "removed": self.removed[:20],
            "changed": self.changed[:20],
            "moved": self.moved[:20],
        }


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    keys = frame["id"].astype(str)
    if keys.duplicated().any():
        raise DataError(f"manifest: duplicate id {keys[keys.duplicated()].iloc[0]!r}")
    return frame.set_index(keys)


def compare_manifests(
    saved: pd.DataFrame, now: pd.DataFrame, saved_hash: str | None, current_hash: str
) -> ManifestCheck:
    """Compare a saved manifest with one made now from the current data (ids matched as text)."""
    a, b = _keyed(saved), _keyed(now)
    common = a.index.intersection(b.index, sort=False)
    added = [str(i) for i in b.index.difference(a.index, sort=False)]
    removed = [str(i) for i in a.index.difference(b.index, sort=False)]
    changed: list[Any] = []
    if "input_hash" in a.columns and "input_hash" in b.columns:
        ha = a.loc[common, "input_hash"].to_numpy(dtype=np.uint64)
        hb = b.loc[common, "input_hash"].to_numpy(dtype=np.uint64)
        changed = [str(i) for i in common[ha != hb]]
    sa, sb = a.loc[common, "set"].astype(str).to_numpy(), b.loc[common, "set"].astype(str).to_numpy()
    differs = sa != sb
    if "dev_part" in a.columns or "dev_part" in b.columns:
        pa_ = a.loc[common, "dev_part"].astype(str).to_numpy() if "dev_part" in a.columns else None
        pb_ = b.loc[common, "dev_part"].astype(str).to_numpy() if "dev_part" in b.columns else None
        if pa_ is None or pb_ is None:
            differs[:] = True
        else:
            differs |= pa_ != pb_
    moved = [
        {"id": str(i), "saved": s, "now": t}
        for i, s, t in zip(common[differs], sa[differs], sb[differs], strict=True)
    ]
    same = None if saved_hash is None else saved_hash == current_hash
    reproduced = not (added or removed or changed or moved)
    return ManifestCheck(
        same, reproduced, len(a), len(b), saved_hash, current_hash, added, removed, changed, moved
    )
