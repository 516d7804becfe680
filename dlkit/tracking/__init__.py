"""Tracking backends. Importing this package does not import MLflow."""

from dlkit.tracking.base import (
    DEFAULT_URI,
    NullStore,
    NullTracker,
    RunStore,
    Tracker,
    open_store,
    resolve_tracking_uri,
)

__all__ = [
    "DEFAULT_URI",
    "NullStore",
    "NullTracker",
    "RunStore",
    "Tracker",
    "open_store",
    "resolve_tracking_uri",
]
