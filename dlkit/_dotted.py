"""The one dotted-path setter: ``--set`` overrides, tuned values and ``models show --set``."""

from __future__ import annotations

from typing import Any


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``dotted.path`` in a nested mapping; list items by index (the next index appends)."""
    keys = path.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) > len(node):
                raise ValueError(f"{where}: expected a list index 0..{len(node)} (got {key!r})")
            index = int(key)
            if last:
                node[index : index + 1] = [value]
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ValueError(f"{'.'.join(keys[:depth])} is a value, not a section (it holds {node!r})")
