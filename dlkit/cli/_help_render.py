"""typer's help renderer, imported without the two rich modules dlkit's help never uses.

typer renders help, usage errors and uncaught exceptions through ``typer.rich_utils``, which
imports ``rich.markdown`` (help written in Markdown, ``rich_markup_mode="markdown"``; dlkit's
is ``"rich"``) and ``rich.traceback`` (the traceback of a bug) at its top. With their own
imports (``markdown_it``, ``rich.pretty``, ``attrs``, ``rich.syntax``, ``pygments``) they cost
about 0.07 s of CPU, a sixth of ``dlkit --help``, on every help page and usage error.

:func:`defer_help_extras` has ``typer.rich_utils``, whenever something first imports it, see
stand-ins for ``Markdown`` and ``Traceback``: classes that import the real module when called or
asked an attribute (``Traceback.from_exception``), so a bug's traceback looks as before. The
stand-ins are in ``sys.modules`` only while ``typer.rich_utils`` runs its imports; any other
``import rich.markdown`` gets the real module. Should a later typer import another name from
them, ``typer.rich_utils`` is imported again as it is, stand-ins gone.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader
else:  # importlib.abc imports importlib.resources and tempfile: more than this saves
    Loader = object

RENDERER = "typer.rich_utils"
# module -> the names typer.rich_utils imports from it
DEFERRED: dict[str, tuple[str, ...]] = {"rich.markdown": ("Markdown",), "rich.traceback": ("Traceback",)}


class _Deferred(type):
    """Metaclass of a stand-in: the real class is imported when the stand-in is first used."""

    _module: str

    def real(cls) -> Any:
        return getattr(importlib.import_module(cls._module), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        # only for names the stand-in lacks: classmethods such as Traceback.from_exception
        return getattr(cls.real(), attr)

    def __instancecheck__(cls, obj: object) -> bool:
        return cls._module in sys.modules and isinstance(obj, cls.real())


def _stand_ins() -> dict[str, types.ModuleType]:
    modules = {}
    for module_name, names in DEFERRED.items():
        if module_name in sys.modules:  # already paid for: use the real one
            continue
        module = types.ModuleType(module_name, f"Stand-in for {module_name} while {RENDERER} is imported.")
        for name in names:
            setattr(module, name, _Deferred(name, (), {"_module": module_name}))
        modules[module_name] = module
    return modules


class _Loader(Loader):
    """Runs the renderer's module with the stand-ins in ``sys.modules``, then takes them out."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, attr: str) -> Any:
        # get_source, get_filename, ...: linecache and inspect ask the module's loader
        return getattr(self.loader, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: types.ModuleType) -> None:
        stand_ins = _stand_ins()
        sys.modules.update(stand_ins)
        try:
            self.loader.exec_module(module)
        except ImportError:
            if not stand_ins:
                raise
            # a typer that imports more from them than the stand-ins hold: import it as it is
            _remove(stand_ins)
            self.loader.exec_module(module)
        finally:
            _remove(stand_ins)


def _remove(stand_ins: dict[str, types.ModuleType]) -> None:
    for name, module in stand_ins.items():
        if sys.modules.get(name) is module:
            del sys.modules[name]


class _Finder:
    """Finds ``typer.rich_utils`` as the path finder does, with :class:`_Loader` around its loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != RENDERER:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def defer_help_extras() -> None:
    """Have the first import of ``typer.rich_utils`` in this process skip ``rich.markdown`` and
    ``rich.traceback`` until they are used (a no-op once it is imported, or when called again)."""
    if RENDERER in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
