"""Keras initializer names, checked when the recipe is validated (no TensorFlow import)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from dlkit._naming import did_you_mean

KNOWN = (
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "zeros",
    "ones",
)


def _known(name: str) -> str:
    if name not in KNOWN:
        raise ValueError(
            f"unknown initializer '{name}'. Expected one of: {', '.join(KNOWN)}.{did_you_mean(name, KNOWN)}"
        )
    return name


Initializer = Annotated[str, AfterValidator(_known)]
