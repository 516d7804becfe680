"""The recipe gallery: example recipes that together cover the course, shipped inside the package.

The recipes (``*.yaml``) and their small data files (``data/``) live in this folder, so they
are installed with dlkit (package data) and ``dlkit init --list`` can show them after a plain
``pip install .``; the repository's ``recipes/`` is a link to this folder. Each recipe opens
with comment lines: a summary, ``Teaches:``, ``Run:``, ``Expected:`` and ``CPU time:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlkit._naming import did_you_mean
from dlkit.errors import RecipeError

GALLERY_DIR = Path(__file__).resolve().parent
# the header fields a gallery recipe states (tests/unit/gallery checks every recipe has them)
HEADER_FIELDS = ("Teaches", "Expected", "CPU time")


@dataclass(frozen=True)
class GalleryRecipe:
    """One gallery recipe and what its header comment says."""

    name: str
    path: Path
    summary: str
    fields: dict[str, str]

    @property
    def teaches(self) -> str:
        return self.fields.get("Teaches", "")

    @property
    def expected(self) -> str:
        return self.fields.get("Expected", "")

    @property
    def cpu_time(self) -> str:
        return self.fields.get("CPU time", "")


def _header(path: Path) -> tuple[str, dict[str, str]]:
    """The summary (first comment paragraph) and ``Field: text`` lines of a recipe's header."""
    summary: list[str] = []
    fields: dict[str, str] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        field, sep, rest = text.partition(":")
        if sep and field in (*HEADER_FIELDS, "Run"):
            current = field
            fields[field] = rest.strip()
        elif current is not None:  # a field runs on until the next one
            if current != "Run":
                fields[current] = f"{fields[current]} {text}".strip()
        else:
            summary.append(text)
    return " ".join(summary), fields


def gallery_recipes() -> list[GalleryRecipe]:
    """Every gallery recipe, by name."""
    found = []
    for path in sorted(GALLERY_DIR.glob("*.yaml")):
        summary, fields = _header(path)
        found.append(GalleryRecipe(path.stem, path, summary, fields))
    return found


def gallery_recipe(name: str) -> GalleryRecipe:
    """The gallery recipe called ``name``.

    Raises:
        RecipeError: no gallery recipe has that name.
    """
    recipes = {r.name: r for r in gallery_recipes()}
    if name not in recipes:
        raise RecipeError(
            f"no gallery recipe '{name}'; expected one of {', '.join(recipes)}.{did_you_mean(name, recipes)}"
        )
    return recipes[name]
