"""typer's help renderer without rich.markdown and rich.traceback until used (cli/_help_render.py).

Each check runs in a fresh interpreter: the test process has long imported typer.rich_utils.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

EXTRAS = ("rich.markdown", "rich.traceback", "markdown_it", "pygments", "rich.pretty", "attr")


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_help_skips_the_extras_and_a_bug_still_gets_its_traceback() -> None:
    code = f"""
import json, sys
import typer
from dlkit.cli import app
@app.command("crash")
def crash() -> None:
    raise RuntimeError("a bug")
try:
    app(["--help"])
except SystemExit:
    pass
after_help = [m for m in {EXTRAS!r} if m in sys.modules]
import typer.rich_utils as ru
print(json.dumps({{"after_help": after_help, "deferred": type(ru.Traceback).__name__}}), flush=True)
app(["crash"])  # typer prints the traceback as the process ends
"""
    proc = _run(code)
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts == {"after_help": [], "deferred": "_Deferred"}
    # typer's rich traceback, drawn by the real rich.traceback, framed and naming the error
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "RuntimeError: a bug" in proc.stderr
    assert "╭" in proc.stderr


def test_help_reads_the_same_with_typer_rich_utils_imported_as_it_is() -> None:
    code = """
import sys
if sys.argv[1] == "plain":
    import typer.rich_utils  # before dlkit.cli: nothing left to defer
from dlkit.cli import app
for argv in (["--help"], ["diagnose", "--help"], ["runs", "--help"], ["no-such-command"]):
    try:
        app(argv, prog_name="dlkit")
    except SystemExit:
        pass
"""
    deferred = _run(code, "deferred")
    plain = _run(code, "plain")
    assert (deferred.stdout, deferred.stderr) == (plain.stdout, plain.stderr)
    assert "Usage: dlkit diagnose [OPTIONS]" in deferred.stdout
    assert "No such command 'no-such-command'" in deferred.stderr


def test_a_typer_importing_more_from_them_gets_the_real_modules() -> None:
    code = """
import json, sys
from dlkit.cli import _help_render
_help_render.DEFERRED["rich.markdown"] = ("Heading",)  # the stand-in lacks Markdown
import typer.rich_utils as ru
import rich.markdown
import rich.traceback
print(json.dumps([ru.Markdown is rich.markdown.Markdown, ru.Traceback is rich.traceback.Traceback]))
"""
    proc = _run(code)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [True, True]


def test_command_signatures_are_evaluated_at_import() -> None:
    # typer evaluates string annotations (from __future__ import annotations) four times per
    # command each time dlkit starts (dlkit/cli/__init__.py)
    import typer

    from dlkit.cli import app

    def callbacks(group: typer.Typer) -> list[tuple[str, object]]:
        found = [(str(c.name or c.callback.__name__), c.callback) for c in group.registered_commands]  # type: ignore[union-attr]
        for sub in group.registered_groups:
            assert sub.typer_instance is not None
            found += callbacks(sub.typer_instance)
        return found

    found = callbacks(app)
    assert len(found) > 30
    quoted = {
        name: [k for k, v in getattr(callback, "__annotations__", {}).items() if isinstance(v, str)]
        for name, callback in found
    }
    assert {name: keys for name, keys in quoted.items() if keys} == {}
