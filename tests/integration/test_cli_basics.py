"""Fast CLI commands: help, recipe validate/show/schema, models list, split; no TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import REPO, write_recipe

runner = CliRunner()
QUICKSTART = REPO / "recipes" / "digits-cnn.yaml"


def _modules_after(code: str) -> set[str]:
    out = (
        subprocess.run(
            [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return set(json.loads(out))


def test_cli_import_loads_no_tensorflow_or_mlflow() -> None:
    loaded = _modules_after("import dlkit.cli")
    assert "tensorflow" not in loaded and "keras" not in loaded and "mlflow" not in loaded


def test_help_validate_and_models_list_load_no_tensorflow() -> None:
    for argv in (["--help"], ["recipe", "validate", str(QUICKSTART)], ["models", "list"]):
        code = (
            "import sys\nfrom dlkit.cli import app\n"
            f"sys.argv = ['dlkit', *{argv!r}]\n"
            "try:\n    app()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        )
        loaded = _modules_after(code)
        assert "tensorflow" not in loaded, argv
        assert "mlflow" not in loaded, argv


# libraries a recipe check or a run listing never needs (about a second of CPU each to import)
HEAVY_FOR_LIGHT_COMMANDS = ("numpy", "pandas", "pyarrow", "scipy", "sklearn", "mlflow", "tensorflow")


def test_validate_runs_list_and_models_list_load_no_numpy_pandas_or_sklearn(workdir: Path) -> None:
    (workdir / "t.csv").write_text("a,b,label\n1,2,0\n3,4,1\n", encoding="utf-8")
    table = write_recipe(
        workdir,
        """
        name: t
        data: {source: {type: csv, path: t.csv, target: label, stream: true}}
        model: {type: mlp, units: [4]}
        """,
    )
    commands = [
        ["recipe", "validate", str(QUICKSTART)],
        ["recipe", "validate", str(table)],
        ["runs", "list"],
        ["models", "list"],
    ]
    code = (
        "from dlkit.cli import app\n"
        f"for argv in {commands!r}:\n"
        "    try:\n        app(argv)\n"
        "    except SystemExit as e:\n        assert e.code in (0, None), (argv, e.code)\n"
    )
    loaded = _modules_after(code)
    assert [m for m in HEAVY_FOR_LIGHT_COMMANDS if m in loaded] == []
    # the schema's modules are all there: the check saw the real import graph
    assert {"dlkit.recipe.schema", "dlkit.data.sources", "dlkit.tasks.base", "dlkit.models.seq2seq"} <= loaded


def test_validate_ok_and_bad() -> None:
    result = runner.invoke(app, ["recipe", "validate", str(QUICKSTART)])
    assert result.exit_code == 0 and "valid (model cnn, 30 epochs)" in result.output


def test_validate_reports_every_problem(workdir: Path) -> None:
    path = write_recipe(
        workdir,
        """
        name: x
        data: {source: {type: sklearn, name: digit}}
        model: {type: cnn, filters: [8], dropuot: 0.1}
        train: {epochs: 3, optimizer: {type: adam, learnig_rate: 0.1}}
        """,
    )
    result = runner.invoke(app, ["recipe", "validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"error: {path}: data.source.name: "
        "input should be 'digits', 'breast_cancer', 'wine' or 'iris' (got 'digit')",
        f"error: {path}: model.dropuot: unknown field. Did you mean 'dropout'?",
        f"error: {path}: train.optimizer.learnig_rate: unknown field. Did you mean 'learning_rate'?",
    ]


def test_show_resolved_applies_overrides_and_defaults() -> None:
    result = runner.invoke(app, ["recipe", "show", "--resolved", str(QUICKSTART), "--set", "train.epochs=3"])
    assert result.exit_code == 0
    import yaml

    shown = yaml.safe_load(result.output)
    assert shown["train"]["epochs"] == 3
    assert shown["train"]["optimizer"]["beta_1"] == 0.9
    assert shown["model"]["kernel_size"] == 3


def test_schema_is_json_schema() -> None:
    result = runner.invoke(app, ["recipe", "schema"])
    schema = json.loads(result.output)
    assert schema["title"] == "Recipe" and schema["additionalProperties"] is False


def test_models_list_shows_registry() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0
    assert "mlp" in result.output and "cnn" in result.output and "filters" in result.output


def test_split_shows_table_and_writes_manifest(workdir: Path) -> None:
    result = runner.invoke(app, ["split", str(QUICKSTART), "--out", "m.csv"])
    assert result.exit_code == 0, result.output
    assert "train_dev" in result.output and "1797 examples" in result.output
    import pandas as pd

    manifest = pd.read_csv(workdir / "m.csv")
    assert manifest["set"].value_counts().to_dict() == {
        "train": 1078,
        "train_dev": 180,
        "dev": 270,
        "test": 269,
    }


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("dlkit 0.1.0")


# what help needs is typer and rich: not the recipe schema's pydantic, nor typer's Markdown
# and traceback renderers (dlkit/cli/_help_render.py), nor any data library. A sub-command's
# help and a run listing do without pydantic too: typer checks every option's value, defaults
# included, and dlkit/cli/_coercion.py checks the plain ones without it.
NOT_FOR_HELP = (
    "pydantic",
    "yaml",
    "numpy",
    "pandas",
    "rich.markdown",
    "markdown_it",
    "rich.traceback",
    "pygments",
    "mlflow",
    "tensorflow",
)


def test_help_loads_no_pydantic_markdown_or_data_libraries() -> None:
    code = (
        "import json, sys\nfrom dlkit.cli import app\n"
        "for argv in (['--help'], ['diagnose', '--help'], ['runs', 'list', '--help'], ['runs', 'list']):\n"
        "    try:\n        app(argv)\n"
        "    except SystemExit as e:\n        assert e.code in (0, None), (argv, e.code)\n"
        "    if argv == ['--help']:\n        print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code + "print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.splitlines()
    after_root, after_all = (set(json.loads(line)) for line in out if line.startswith('["'))
    assert [m for m in NOT_FOR_HELP if m in after_root] == []
    assert [m for m in NOT_FOR_HELP if m in after_all] == []
    assert "typer.rich_utils" in after_root  # the help was rendered, by typer's rich renderer


# diagnose reads the run's stored predictions: no TensorFlow, MLflow or matplotlib (its report's
# plot is written as SVG text: dlkit/reporting/_svg.py), not the recipe schema with its data
# sources and models (about a third of a second), nor pydantic (the task registry leaves the
# tasks' recipe sections to dlkit/tasks/spec.py), and for a task whose error is its mistakes not
# pandas either (a second): pyarrow reads the one column
NOT_FOR_DIAGNOSE = (
    "pandas",
    "pydantic",
    "tensorflow",
    "keras",
    "mlflow",
    "matplotlib",
    "sklearn",
    "scipy",
    "dlkit.recipe.schema",
    "dlkit.data.sources",
    "dlkit.models",
)


def test_diagnose_with_and_without_reports_loads_no_tensorflow_mlflow_plots_pandas_or_schema(
    digits_run: Path, workdir: Path
) -> None:
    run = workdir / "run"
    shutil.copytree(digits_run, run)  # the reports are written into the run directory
    code = (
        "import contextlib, io, json\nfrom dlkit.cli import app\n"
        "for extra in (['--no-report'], []):\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        f"        try:\n            app(['diagnose', {str(run)!r}, '--json', *extra])\n"
        "        except SystemExit as e:\n            assert e.code in (0, None), e.code\n"
        "    assert json.loads(out.getvalue())['runs'][0]['verdict']\n"
    )
    loaded = _modules_after(code)
    assert [m for m in NOT_FOR_DIAGNOSE if m in loaded] == []
    assert "pyarrow.parquet" in loaded  # the check saw the real work: it read the predictions
    page = (run / "reports" / "diagnose.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "human level" in page  # ... and drew the plot
