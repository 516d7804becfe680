"""Base class of every recipe spec: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Spec(BaseModel):
    """A strict pydantic model: ``extra="forbid"``, validation on assignment, finite numbers only.

    ``inf`` and ``nan`` are refused in every float field: no recipe setting means them, and one
    that slipped through (``learning_rate: .inf``) would only show up as a NaN loss mid-training.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, defer_build=True)

    @field_validator("*")
    @classmethod
    def _usable_paths(cls, value: Any) -> Any:
        # the operating system refuses a NUL in a path with an exception, wherever it is used
        if isinstance(value, PurePath) and "\x00" in str(value):
            raise ValueError("a path cannot hold a NUL character")
        return value


# A layer's width (units, filters): at least 1, and below what any machine could hold, so a typo
# (an extra zero or three) is refused here rather than as an overflow or out-of-memory in Keras.
MAX_WIDTH = 1 << 20
Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]

# An image side in pixels (resizing, image_size): at least 1, at most 16384.
MAX_PIXELS = 1 << 14
Pixels = Annotated[int, Field(ge=1, le=MAX_PIXELS)]
