"""A registry maps a name to a pydantic spec class and the function that builds it.

Each pluggable family (models, optimizers, schedules, data sources) owns one registry. The
registry serves recipe validation (the spec classes form a discriminated union on ``type``),
``dlkit models list``, the JSON schema and tuning; training and tuning build through
:meth:`Registry.build` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dlkit._naming import did_you_mean
from dlkit.errors import BuildError

S = TypeVar("S")


@dataclass(frozen=True)
class Entry(Generic[S]):
    """One registered name."""

    name: str
    spec: type[S]
    builder: Callable[..., Any]
    summary: str


class Registry(Generic[S]):
    """Name -> (spec class, builder) for one family of pluggable parts."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, Entry[S]] = {}

    def register(self, name: str, spec: type[S], builder: Callable[..., Any], summary: str) -> None:
        """Add ``name``; a second registration of one name is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.family} '{name}' is registered twice")
        self._entries[name] = Entry(name, spec, builder, summary)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[Entry[S]]:
        """Registered entries, sorted by name."""
        return [self._entries[n] for n in self.names()]

    def unknown_message(self, name: str) -> str:
        """``Unknown model type 'lstn'. Available: cnn, mlp. Did you mean ...?``."""
        return (
            f"Unknown {self.family} type {name!r}. Available: {', '.join(self.names())}."
            f"{did_you_mean(name, self.names())}"
        )

    def get(self, name: str) -> Entry[S]:
        """The entry for ``name``.

        Raises:
            BuildError: ``name`` is not registered (with a did-you-mean).
        """
        try:
            return self._entries[name]
        except KeyError:
            raise BuildError(self.unknown_message(name)) from None

    def build(self, spec: Any, *args: Any, **kwargs: Any) -> Any:
        """Build ``spec`` (its ``type`` field picks the builder)."""
        return self.get(spec.type).builder(spec, *args, **kwargs)

    def specs(self) -> tuple[type[S], ...]:
        """Spec classes in name order, for a discriminated union."""
        return tuple(e.spec for e in self.entries())
