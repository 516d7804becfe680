"""Use cases that read a run directory, call pure analysis, write reports and log to MLflow."""
