"""Tracking backends. Importing this package does not import MLflow."""

from dlkit.tracking.base import DEFAULT_URI, NullTracker, Tracker, resolve_tracking_uri

__all__ = ["DEFAULT_URI", "NullTracker", "Tracker", "resolve_tracking_uri"]
