"""Base class of every recipe spec: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """A strict pydantic model: ``extra="forbid"`` and validation on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
