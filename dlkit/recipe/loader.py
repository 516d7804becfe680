"""Load a recipe: YAML (``safe_load`` semantics), ``--set`` overrides, validation, clear errors.

Every problem becomes one line ``file: dotted.path: what is wrong (got X)``; unknown keys and
names get a did-you-mean. Relative data paths are resolved from the recipe's folder.
"""

from __future__ import annotations

import reprlib
import types
import typing
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from dlkit._dotted import set_path
from dlkit._naming import did_you_mean
from dlkit._registry import OneOf
from dlkit.errors import RecipeError
from dlkit.recipe.schema import DISCRIMINATED, Recipe

# A recipe is a page of settings: these bounds are far above any real one and keep a hostile or
# mistaken file (a data file given as the recipe, an alias bomb, deep nesting) from stalling or
# crashing the parser. Size is checked before reading; depth and values on the parser's event
# stream (fast, in C where libyaml is present) before any Python object is built.
MAX_BYTES = 1 << 20
MAX_DEPTH = 50
MAX_NODES = 50_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's loader builds the same objects as the pure-Python SafeLoader, several times faster
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# and libyaml's emitter writes the same text as the pure-Python SafeDumper, several times faster
_SafeDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _StrictLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently.

    A scalar that its tag cannot hold (``!!int abc``) is an error at that scalar's line, not a
    crash.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except (ValueError, TypeError, OverflowError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {_describe(node.value)} as {tag} ({exc})", node.start_mark
            ) from None


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # `<<: *base` merges a mapping; construct_mapping does it
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a {'list' if isinstance(key, list) else 'mapping'} cannot be a key (keys are names)",
                key_node.start_mark,
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {_describe(key)}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


class PastBoundError(yaml.MarkedYAMLError):
    """Well-formed YAML past a bound (:data:`MAX_DEPTH`, :data:`MAX_NODES`), or a recursive alias."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _check_shape(text: str) -> None:
    """Refuse nesting past :data:`MAX_DEPTH` and more than :data:`MAX_NODES` values.

    Values are counted with every alias expanded, as anything that walks the result (validation,
    error messages, ``recipe show``) would see them: this is what stops an alias bomb.

    Raises:
        PastBoundError: a bound is passed, or an alias refers to a node that contains it.
        yaml.YAMLError: the text is not YAML.
    """
    sizes: dict[str, int] = {}  # anchor -> its node's size, aliases expanded
    frames: list[list[Any]] = []  # [anchor, size so far] of each collection being read
    total = 0
    for event in yaml.parse(text, Loader=_SafeBase):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(frames) >= MAX_DEPTH:
                raise PastBoundError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            frames.append([event.anchor, 1])
            size = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = frames.pop()
            if anchor is not None:
                sizes[anchor] = size
            if frames:
                frames[-1][1] += size
            continue
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
            if frames:
                frames[-1][1] += 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in frames):
                raise PastBoundError(
                    f"alias *{event.anchor} refers to a node that contains it", event.start_mark
                )
            # an undefined alias is the loader's error to report
            size = sizes.get(event.anchor or "", 1)
            if frames:
                frames[-1][1] += size
        else:
            continue
        total += size
        if total > MAX_NODES:
            raise PastBoundError(
                f"more than {MAX_NODES:,} values (aliases expanded); a recipe holds settings, not data",
                event.start_mark,
            )


def parse_yaml(text: str) -> Any:
    """Parse YAML text with safe semantics, duplicate keys refused, within the bounds above.

    Raises:
        PastBoundError: nesting or values past the bounds, or a recursive alias.
        yaml.YAMLError: not YAML.
    """
    _check_shape(text)
    return yaml.load(text, Loader=_StrictLoader)


def _yaml_problem(exc: yaml.YAMLError, text: str = "") -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    if isinstance(exc, yaml.reader.ReaderError) and text:  # a character the reader refuses
        line = text.count("\n", 0, exc.position)
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
        where = f"line {line + 1}, column {column + 1}: "
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, PastBoundError):  # well-formed, but more than a recipe can be
        return f"{where}{problem}"
    return f"{where}invalid YAML: {problem}"


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping with safe semantics.

    Raises:
        RecipeError: missing file, a folder, a file over :data:`MAX_BYTES`, invalid YAML (with
            line and column), nesting or values past the bounds, or not a mapping.
    """
    try:
        if path.is_dir():
            raise RecipeError(f"{path}: is a folder; expected a recipe YAML file")
        if not path.exists():
            raise RecipeError(f"{path}: file not found")
        if not path.is_file():  # a FIFO or device would block or never end
            raise RecipeError(f"{path}: not a regular file; expected a recipe YAML file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecipeError(
                f"{path}: {size / (1 << 20):.1f} MiB is over the {MAX_BYTES >> 20} MiB a recipe may be",
                hint="a recipe holds settings; point data.source.path at the data instead",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:  # grew while we looked
        raise RecipeError(f"{path}: over the {MAX_BYTES >> 20} MiB a recipe may be")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a UTF-8 text file") from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: {_yaml_problem(exc, text)}") from None
    if data is None:
        raise RecipeError(f"{path}: the recipe is empty; expected a mapping with name, data and model")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level (got {type(data).__name__})")
    return data


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.path=value`` override in place; the value is parsed as YAML.

    List items are addressed by index (``model.filters.0=8``). Types are checked afterwards
    by the schema, like every other value.

    Raises:
        RecipeError: not of the form ``path=value``, or a path through a non-section.
    """
    path, sep, raw = assignment.partition("=")
    if not sep or not path.strip():
        raise RecipeError(f"--set {assignment}: expected dotted.path=value")
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except PastBoundError as exc:
        raise RecipeError(f"--set {path.strip()}: {_yaml_problem(exc)}") from None
    except yaml.YAMLError:
        value = raw
    try:
        set_path(data, path.strip(), value)
    except ValueError as exc:
        raise RecipeError(f"--set {assignment}: {exc}") from None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly optional, annotated, nested) union, None left out."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) if a is not type(None) for m in _members(a)]
    return [annotation]


def _key(item: Any) -> str:
    """A location item as shown: itself, or quoted when it holds a newline or control character."""
    text = str(item)
    return text if text.isprintable() else repr(text)


# annotation -> (itself, members, model members, models by their ``type`` tag); kept so that a
# recipe with thousands of errors (a long list of wrong values) is not slow to report
_SHAPES: dict[int, tuple[Any, list[Any], list[type[BaseModel]], dict[Any, type[BaseModel]]]] = {}


def _shape(annotation: Any) -> tuple[list[Any], list[type[BaseModel]], dict[Any, type[BaseModel]]]:
    """The union members of ``annotation``, those that are models, and those by ``type`` tag."""
    known = _SHAPES.get(id(annotation))
    if known is None or known[0] is not annotation:
        members = _members(annotation)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        tagged = {m.model_fields["type"].default: m for m in models if "type" in m.model_fields}
        known = _SHAPES[id(annotation)] = (annotation, members, models, tagged)
    return known[1], known[2], known[3]


def _field_type(field: FieldInfo) -> Any:
    """A field's annotation, or its :class:`OneOf` where it holds one spec of a registry (or None)."""
    annotation = field.annotation
    alternatives = [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        alternatives = [a for a in typing.get_args(annotation) if a is not type(None)]
    metadata = [*field.metadata]
    if len(alternatives) == 1 and typing.get_origin(alternatives[0]) is typing.Annotated:
        metadata += typing.get_args(alternatives[0])[1:]
    return next((m for m in metadata if isinstance(m, OneOf)), annotation)


def _alternative(members: list[Any], tag: str) -> Any:
    """The member of a plain union that pydantic's location ``tag`` names (``list[int]``, a class)."""
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and member.__name__ == tag:
            return member
        origin = typing.get_origin(member)
        if origin in (list, dict, tuple) and tag.startswith(f"{origin.__name__}["):
            return member
    return None


def _walk(loc: tuple[Any, ...]) -> tuple[list[str], type[BaseModel] | None, bool]:
    """Follow a pydantic error location through the schema.

    Returns the display path, the model class that owns the last key (for did-you-mean
    suggestions) and whether the error is about one alternative of a plain union (``bool |
    Literal['auto']``). Discriminator tags and pydantic's names for union alternatives are
    dropped from the path: the user wrote neither.
    """
    shown: list[str] = []
    current: Any = Recipe
    owner: type[BaseModel] | None = Recipe
    alternative = False
    items = list(loc)
    while items:
        item = items.pop(0)
        if isinstance(current, OneOf) and isinstance(item, str) and item in current.registry.names():
            # a registry's field: this location item is the tag, not a field
            current = current.registry.get(item).spec
            continue
        members, models, tagged = _shape(current)
        if len(models) > 1 and len(tagged) == len(models):
            # a discriminated union: this location item is the tag, not a field
            if item in tagged:
                current = tagged[item]
                continue
        elif len(members) > 1 and isinstance(item, str):
            # a plain union: pydantic names the alternative it tried
            current, owner, alternative = _alternative(members, item), None, True
            continue
        shown.append(_key(item))
        model = models[0] if len(models) == 1 else None
        if model is not None:
            owner = model
            field = model.model_fields.get(str(item))
            current = _field_type(field) if field else None
            continue
        container = next((m for m in members if typing.get_origin(m) in (list, dict)), None)
        if container is not None:
            current = typing.get_args(container)[-1]
            owner = None
        else:
            current, owner = None, None
    return shown, owner, alternative


# reprlib stops early: a huge or alias-shared value is never written out whole just to be cut
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def _describe(value: Any) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(error: Any) -> tuple[str, str, str, bool]:
    """One pydantic error as (dotted path, what is wrong, `` (got X)`` or '', union alternative)."""
    shown, owner, alternative = _walk(tuple(error["loc"]))
    path = ".".join(shown) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        # a field's YAML key is its alias where it has one (a rule's ``in``, not ``in_``)
        choices = [f.alias or k for k, f in owner.model_fields.items()] if owner is not None else []
        hint = did_you_mean(shown[-1], choices)
        if not hint and choices:
            hint = f" Expected one of: {', '.join(choices)}."
        return path, f"unknown field.{hint}", "", False
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        registry = DISCRIMINATED.get(path)
        family = registry.family if registry else "type"
        given = error.get("input")
        if kind == "union_tag_not_found" or (isinstance(given, dict) and given.get("type") is None):
            names = ", ".join(registry.names()) if registry else ""
            return f"{path}.type", f"missing; expected one of: {names}", "", False
        tag = error.get("ctx", {}).get("tag", error.get("input"))
        message = registry.unknown_message(str(tag)) if registry else f"unknown {family} {str(tag)!r}"
        return f"{path}.type", f"{message[0].lower()}{message[1:]}", "", False
    if kind == "missing":
        return path, "required field is missing", "", False
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message[0].lower() + message[1:] if message else message
    value = error.get("input")
    got = "" if isinstance(value, dict) else f" (got {_describe(value)})"
    return path, message, got, alternative


def _error_lines(source: str, errors: list[Any]) -> list[str]:
    """One line per problem; the alternatives of one union value (``bool | 'auto'``) share one."""
    problems: list[list[Any]] = []
    for error in errors:
        path, message, got, alternative = _problem(error)
        last = problems[-1] if problems else None
        if alternative and last is not None and last[3] and last[0] == path:
            last[1].append(message)
            continue
        problems.append([path, [message], got, alternative])
    # a value with the shape of one alternative (a list) is judged as that one, not as the others
    deeper = {p[0] for p in problems if p[3]}
    problems = [p for p in problems if not (p[3] and any(d.startswith(f"{p[0]}.") for d in deeper))]
    lines = []
    for path, messages, got, _ in problems:
        if len(messages) > 1:
            # "input should be a valid boolean, unable to ..." + "input should be 'auto'"
            # -> "input should be a valid boolean or 'auto'"
            wanted = [m.removeprefix("input should be ").split(", ")[0] for m in messages]
            message = f"input should be {' or '.join(dict.fromkeys(wanted))}"
        else:
            message = messages[0]
        lines.append(f"{source}: {path}: {message}{got}")
    return list(dict.fromkeys(lines))


def validate_recipe(data: dict[str, Any], source: str, base_dir: Path) -> Recipe:
    """Validate a recipe mapping.

    Args:
        data: the parsed YAML with overrides applied.
        source: the file name used to prefix error lines.
        base_dir: folder that relative data paths are taken from.

    Raises:
        RecipeError: one line per problem.
    """
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError("\n".join(_error_lines(source, exc.errors()))) from None
    source_spec = recipe.data.source
    path = getattr(source_spec, "path", None)
    if path is not None and not path.is_absolute():
        source_spec.path = (base_dir / path).resolve()
    resolve_source_paths = getattr(source_spec, "resolve_paths", None)
    if callable(resolve_source_paths):  # the source's other files (a text vocabulary)
        resolve_source_paths(base_dir)
    corrections = recipe.data.corrections
    if corrections is not None and not corrections.is_absolute():
        recipe.data.corrections = (base_dir / corrections).resolve()
    resolve_model_paths = getattr(recipe.model, "resolve_paths", None)
    if callable(resolve_model_paths):  # model files (base model, vectors, own builder)
        resolve_model_paths(base_dir)
    return recipe


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate the recipe at ``path``.

    Args:
        path: the YAML file.
        overrides: ``dotted.path=value`` strings, applied in order.

    Returns:
        The validated recipe, with data paths made absolute.

    Raises:
        RecipeError: the file, an override or the content is invalid.
    """
    path = Path(path)
    data = read_yaml(path)
    for assignment in overrides or []:
        apply_override(data, assignment)
    return validate_recipe(data, str(path), path.resolve().parent)


def dump_recipe(recipe: Recipe) -> str:
    """The resolved recipe as YAML, every default written out, keys as the YAML spells them
    (aliases such as a rule's ``in``), absent optional sections (``tune``, ``verification``)
    left out."""
    data = recipe.model_dump(mode="json", by_alias=True)
    for section in ("tune", "verification"):
        if data.get(section) is None:
            data.pop(section, None)
    return yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 3}}`` -> ``{"train.epochs": 3}``; lists stay values."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        if not data and prefix:
            out[prefix[:-1]] = None
    else:
        out[prefix[:-1]] = data
    return out
