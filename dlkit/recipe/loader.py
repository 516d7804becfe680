"""Load a recipe: YAML (``safe_load`` semantics), ``--set`` overrides, validation, clear errors.

Every problem becomes one line ``file: dotted.path: what is wrong (got X)``; unknown keys and
names get a did-you-mean. Relative data paths are resolved from the recipe's folder.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dlkit._dotted import set_path
from dlkit._naming import did_you_mean
from dlkit.errors import RecipeError
from dlkit.recipe.schema import DISCRIMINATED, Recipe


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping with safe semantics.

    Raises:
        RecipeError: missing file, invalid YAML (with line and column), or not a mapping.
    """
    if not path.is_file():
        raise RecipeError(f"{path}: file not found")
    try:
        # _StrictLoader is a SafeLoader subclass: safe_load semantics plus duplicate-key errors
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{path}: {where}invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a UTF-8 text file") from None
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
        value = yaml.safe_load(raw) if raw.strip() else ""
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
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _walk(loc: tuple[Any, ...]) -> tuple[list[str], type[BaseModel] | None]:
    """Follow a pydantic error location through the schema.

    Returns the display path (with discriminator tags dropped) and the model class that owns
    the last key, for did-you-mean suggestions.
    """
    shown: list[str] = []
    current: Any = Recipe
    owner: type[BaseModel] | None = Recipe
    items = list(loc)
    while items:
        item = items.pop(0)
        members = _members(current)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) > 1:
            # a discriminated union: this location item is the tag, not a field
            tagged = {m.model_fields["type"].default: m for m in models if "type" in m.model_fields}
            if item in tagged:
                current = tagged[item]
                continue
        shown.append(str(item))
        model = models[0] if len(models) == 1 else None
        if model is not None:
            owner = model
            field = model.model_fields.get(str(item))
            current = field.annotation if field else None
            continue
        container = next((m for m in members if typing.get_origin(m) in (list, dict)), None)
        if container is not None:
            current = typing.get_args(container)[-1]
            owner = None
        else:
            current, owner = None, None
    return shown, owner


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error_line(source: str, error: Any) -> str:
    shown, owner = _walk(tuple(error["loc"]))
    path = ".".join(shown) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        # a field's YAML key is its alias where it has one (a rule's ``in``, not ``in_``)
        choices = [f.alias or k for k, f in owner.model_fields.items()] if owner is not None else []
        hint = did_you_mean(shown[-1], choices)
        if not hint and choices:
            hint = f" Expected one of: {', '.join(choices)}."
        return f"{source}: {path}: unknown field.{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        registry = DISCRIMINATED.get(path)
        family = registry.family if registry else "type"
        if kind == "union_tag_not_found":
            names = ", ".join(registry.names()) if registry else ""
            return f"{source}: {path}.type: missing; expected one of: {names}"
        tag = error.get("ctx", {}).get("tag", error.get("input"))
        message = registry.unknown_message(str(tag)) if registry else f"unknown {family} '{tag}'"
        return f"{source}: {path}.type: {message[0].lower()}{message[1:]}"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message[0].lower() + message[1:] if message else message
    if kind == "missing":
        return f"{source}: {path}: required field is missing"
    value = error.get("input")
    got = "" if isinstance(value, dict) else f" (got {_describe(value)})"
    return f"{source}: {path}: {message}{got}"


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
        lines = [_error_line(source, e) for e in exc.errors()]
        raise RecipeError("\n".join(dict.fromkeys(lines))) from None
    source_spec = recipe.data.source
    path = getattr(source_spec, "path", None)
    if path is not None and not path.is_absolute():
        source_spec.path = (base_dir / path).resolve()
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
    (aliases such as a rule's ``in``), an absent ``tune`` section left out."""
    data = recipe.model_dump(mode="json", by_alias=True)
    if data.get("tune") is None:
        data.pop("tune", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


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
