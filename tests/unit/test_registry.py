"""dlkit._registry: names known without imports, specs imported when named, union-equal errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Union

import pytest
from pydantic import Field, ValidationError, field_validator

from dlkit._registry import Registry
from dlkit._spec import Spec
from dlkit.errors import BuildError
from tests.conftest import REPO

LAZY_MODULE = """
from typing import Literal
from dlkit._spec import Spec

class LazySpec(Spec):
    type: Literal["lazy"] = "lazy"
    width: int = 1

def build(spec):
    return ("built", spec.width)
"""


def test_a_name_registered_by_where_it_lives_is_imported_on_first_get(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dlkit_lazy_part.py").write_text(LAZY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dlkit_lazy_part", raising=False)
    parts: Registry[Spec] = Registry("part")
    parts.register("lazy", "dlkit_lazy_part:LazySpec", "dlkit_lazy_part:build", "made on demand")

    assert parts.names() == ["lazy"]
    assert "dlkit_lazy_part" not in sys.modules
    entry = parts.get("lazy")
    assert (entry.spec.__name__, entry.summary) == ("LazySpec", "made on demand")
    assert parts.build(entry.spec(width=3)) == ("built", 3)
    assert "dlkit_lazy_part" in sys.modules
    with pytest.raises(ValueError, match="part 'lazy' is registered twice"):
        parts.register("lazy", Spec, print, "again")
    with pytest.raises(BuildError) as unknown:
        parts.get("lazzy")
    assert str(unknown.value) == "Unknown part type 'lazzy'. Available: lazy. Did you mean 'lazy'?"


class AlphaSpec(Spec):
    type: Literal["alpha"] = "alpha"
    size: int = Field(default=1, ge=1)
    ratio: float = 0.5

    @field_validator("ratio")
    @classmethod
    def _below_one(cls, value: float) -> float:
        if value >= 1:
            raise ValueError("a ratio is below 1")
        return value


class BetaSpec(Spec):
    type: Literal["beta"] = "beta"
    names: list[str] = Field(default_factory=list)


PARTS: Registry[Spec] = Registry("part")
PARTS.register("alpha", AlphaSpec, print, "a")
PARTS.register("beta", BetaSpec, print, "b")


class ByRegistry(Spec):
    part: PARTS.one_of()  # type: ignore[valid-type]
    spare: PARTS.one_of() | None = None  # type: ignore[valid-type]


class ByUnion(Spec):
    part: Annotated[Union[AlphaSpec, BetaSpec], Field(discriminator="type")]  # noqa: UP007
    spare: Annotated[Union[AlphaSpec, BetaSpec], Field(discriminator="type")] | None = None  # noqa: UP007


def _errors(model: type[Spec], data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return json.loads(caught.value.json(include_url=False))


@pytest.mark.parametrize(
    "data",
    [
        {"part": 5},
        {"part": "alpha"},
        {"part": {}},
        {"part": {"type": None}},
        {"part": {"type": "gamma"}},
        {"part": {"type": 7}},
        {"part": {"type": "alpha", "size": 0, "ratio": 2, "extra": 1}},
        {"part": {"type": "beta", "names": [1, "a"]}, "spare": {"type": "alpha", "size": "x"}},
        {"part": SimpleNamespace(type="alpha", size=0)},  # an object, read by its attributes
        {"part": SimpleNamespace(size=2)},
    ],
)
def test_a_registry_field_fails_as_the_discriminated_union_does(data: dict[str, Any]) -> None:
    assert _errors(ByRegistry, data) == _errors(ByUnion, data)


def test_a_registry_field_takes_mappings_and_specs_and_has_the_unions_schema() -> None:
    made = AlphaSpec(size=2)
    assert ByRegistry.model_validate({"part": made}).part is made
    assert ByRegistry.model_validate({"part": {"type": "beta", "names": ["a"]}}).part == BetaSpec(names=["a"])
    assert ByRegistry.model_json_schema() == ByUnion.model_json_schema() | {"title": "ByRegistry"}
    model = ByRegistry(part={"type": "alpha"})
    model.spare = {"type": "beta"}  # validated on assignment too
    assert model.model_dump() == ByUnion(part={"type": "alpha"}, spare={"type": "beta"}).model_dump()


def test_validate_imports_only_the_model_and_source_the_recipe_names() -> None:
    from dlkit.data.sources import SOURCES
    from dlkit.models import MODELS

    spec_modules = {entry.spec.__module__ for registry in (MODELS, SOURCES) for entry in registry.entries()}
    recipe = REPO / "recipes" / "digits-cnn.yaml"  # sklearn digits, a cnn
    code = (
        "import json, sys\nfrom dlkit.cli import app\n"
        f"try:\n    app(['recipe', 'validate', {str(recipe)!r}])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert len(spec_modules) > 15  # every model and source module, not only the two named
    # the cnn's module (which builds on mlp's layer helpers) and the sklearn source's
    assert loaded & spec_modules == {"dlkit.models.cnn", "dlkit.models.mlp", "dlkit.data.sources"}
