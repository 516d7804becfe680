"""A registry maps a name to a pydantic spec class and the function that builds it.

Each pluggable family (models, optimizers, schedules, data sources) owns one registry. The
registry serves recipe validation (a recipe field typed :meth:`Registry.one_of` takes the one
spec its ``type`` names), ``dlkit models list``, the JSON schema and tuning; training and
tuning build through :meth:`Registry.build` only.

An entry may be registered by where it lives (``"dlkit.models.cnn:CNNSpec"``) rather than by the
objects: the registry then knows the name at once and imports the module on first
:meth:`Registry.get`, so validating a recipe imports and builds only the specs it names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, get_args

from dlkit._naming import did_you_mean
from dlkit.errors import BuildError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema, core_schema

S = TypeVar("S")


@dataclass(frozen=True)
class Entry(Generic[S]):
    """One registered name."""

    name: str
    spec: type[S]
    builder: Callable[..., Any]
    summary: str


def _load(target: Any) -> Any:
    """An object, or the one a ``"package.module:attribute"`` string names (imported now)."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Generic[S]):
    """Name -> (spec class, builder) for one family of pluggable parts."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, Entry[S]] = {}
        # name -> (spec, builder, summary) where spec or builder is a "module:attribute" string
        self._lazy: dict[str, tuple[type[S] | str, Callable[..., Any] | str, str]] = {}

    def register(
        self, name: str, spec: type[S] | str, builder: Callable[..., Any] | str, summary: str
    ) -> None:
        """Add ``name``; a second registration of one name is a programming error.

        ``spec`` and ``builder`` may be ``"package.module:attribute"`` strings: the module is
        imported when the entry is first asked for (:meth:`get`), not now.
        """
        if name in self._entries or name in self._lazy:
            raise ValueError(f"{self.family} '{name}' is registered twice")
        if isinstance(spec, str) or isinstance(builder, str):
            self._lazy[name] = (spec, builder, summary)
        else:
            self._entries[name] = Entry(name, spec, builder, summary)

    def names(self) -> list[str]:
        """Registered names, sorted (no module is imported)."""
        return sorted(self._entries.keys() | self._lazy.keys())

    def entries(self) -> list[Entry[S]]:
        """Registered entries, sorted by name (every module registered by name is imported)."""
        return [self.get(n) for n in self.names()]

    def unknown_message(self, name: str) -> str:
        """``Unknown model type 'lstn'. Available: cnn, mlp. Did you mean ...?``."""
        return (
            f"Unknown {self.family} type {name!r}. Available: {', '.join(self.names())}."
            f"{did_you_mean(name, self.names())}"
        )

    def get(self, name: str) -> Entry[S]:
        """The entry for ``name`` (its module imported now if it was registered by name).

        Raises:
            BuildError: ``name`` is not registered (with a did-you-mean).
        """
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        if name not in self._lazy:
            raise BuildError(self.unknown_message(name))
        spec, builder, summary = self._lazy[name]
        entry = self._entries[name] = Entry(name, _load(spec), _load(builder), summary)
        return entry

    def build(self, spec: Any, *args: Any, **kwargs: Any) -> Any:
        """Build ``spec`` (its ``type`` field picks the builder)."""
        return self.get(spec.type).builder(spec, *args, **kwargs)

    def specs(self) -> tuple[type[S], ...]:
        """Spec classes in name order, for a discriminated union (imports every module)."""
        return tuple(e.spec for e in self.entries())

    def one_of(self) -> Any:
        """The type of a recipe field holding one of this registry's specs (``model``).

        Validation reads the value's ``type``, then validates it with that one spec class: the
        other classes are neither imported nor built. Errors are those of a pydantic union
        discriminated by ``type`` over :meth:`specs` (the same types, locations and context), and
        the JSON Schema is that union's.
        """
        return Annotated[Any, OneOf(self)]


_MISSING = object()


@dataclass(frozen=True)
class OneOf:
    """Pydantic metadata of a field that holds one spec of ``registry``, picked by its ``type``."""

    registry: Registry[Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.with_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        from typing import Union

        from pydantic import Field, TypeAdapter

        # the union pydantic would build over every spec class (built here, for the schema only)
        union: Any = Annotated[Union[self.registry.specs()], Field(discriminator="type")]  # noqa: UP007
        return handler(TypeAdapter(union).core_schema)

    def validate(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        """``value`` (a mapping, or a spec already made) as the spec its ``type`` names."""
        from pydantic import ValidationError
        from pydantic_core import PydanticKnownError

        if isinstance(value, Mapping):
            tag = value.get("type", _MISSING)
        elif type(value).__module__ in ("builtins", "datetime", "collections"):  # not an object
            raise PydanticKnownError("model_attributes_type")
        else:  # a spec already made, or an object read by its attributes
            tag = getattr(value, "type", _MISSING)
        if tag is _MISSING:
            raise PydanticKnownError("union_tag_not_found", {"discriminator": "'type'"})
        names = self.registry.names()
        name = tag if isinstance(tag, str) else str(tag)
        if name not in names:
            expected = ", ".join(repr(n) for n in names)
            context = {"discriminator": "'type'", "tag": name, "expected_tags": expected}
            raise PydanticKnownError("union_tag_invalid", context)
        spec = self.registry.get(name).spec
        try:
            return spec.model_validate(value, context=info.context)
        except ValidationError as exc:
            raise _under(name, exc) from None


def _under(tag: str, exc: ValidationError) -> ValidationError:
    """``exc``'s errors with ``tag`` put first in each location, as a discriminated union puts it."""
    from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError
    from pydantic_core.core_schema import ErrorType

    known = set(get_args(ErrorType))
    details: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        context = error.get("ctx")
        kind: str | PydanticCustomError = error["type"]
        if kind not in known:  # a custom error: its message is kept as it was written
            kind = PydanticCustomError(error["type"], error["msg"], context)
        detail = InitErrorDetails(type=kind, loc=(tag, *error["loc"]), input=error["input"])
        if context is not None and isinstance(kind, str):
            detail["ctx"] = context
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details)
