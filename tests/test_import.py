"""``import savedmodel_widgets`` and the CLI stay light: no TensorFlow, pandas or ipywidgets.

Each check runs in a new interpreter, because the test session itself has
imported TensorFlow to build the SavedModels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from checkout_env import checkout_env

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "pandas", "ipywidgets")
"""Top-level packages the light paths must not import."""

LOADED_HEAVY = f"""\
def loaded_heavy():
    import sys

    return sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
"""
"""Python code: ``loaded_heavy()`` lists the heavy modules loaded so far."""


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args`` from the checkout, with TensorFlow's logs quiet."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("module", ["savedmodel_widgets", "savedmodel_widgets.savedmodel"])
def test_import_loads_no_heavy_package(module: str):
    code = f"{LOADED_HEAVY}\nimport json\nimport {module}\nprint(json.dumps(loaded_heavy()))"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"import {module} loaded {loaded}"


CLI = (
    LOADED_HEAVY
    + """
import json, runpy, sys

report, sys.argv = sys.argv[1], ["savedmodel_widgets", *sys.argv[2:]]
try:
    runpy.run_module("savedmodel_widgets", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as stop:
    code = stop.code
with open(report, "w") as file:
    own = sorted(m for m in sys.modules if m.split(".")[0] == "savedmodel_widgets")
    json.dump({"code": code, "loaded": loaded_heavy(), "own": own}, file)
"""
)


@pytest.mark.parametrize(
    ("command", "exit_codes"),
    [
        (["show"], {0}),
        (["show", "--json"], {0}),
        (["check"], {0, 1}),  # 1: an error-level check failed; the model may fail checks
        (["check", "--json", "--target", "eas"], {0, 1}),
    ],
    ids=["show", "show-json", "check", "check-eas-json"],
)
def test_cli_loads_neither_tensorflow_nor_pandas(
    saved_models, tmp_path: Path, command: list[str], exit_codes: set[int]
):
    report = tmp_path / "report.json"
    result = run_python(CLI, str(report), command[0], saved_models["module"], *command[1:])
    assert result.returncode == 0, result.stderr
    outcome = json.loads(report.read_text())
    assert outcome["code"] in exit_codes, result.stderr
    assert result.stdout.strip(), "the command printed nothing"
    assert outcome["loaded"] == [], f"the CLI loaded {outcome['loaded']}"
    # show and check need the reader and the checks: none of the export modules.
    needed = [m for m in outcome["own"] if m not in READER_MODULES
              and not m.startswith("savedmodel_widgets.savedmodel.")]
    assert needed == [], f"the CLI imported {needed}"


def test_cli_deploy_loads_no_heavy_package(saved_models, tmp_path: Path):
    """The deployment kit is written and checked without TensorFlow, pandas or ipywidgets."""
    report = tmp_path / "report.json"
    result = run_python(CLI, str(report), "deploy", saved_models["module"],
                        "--eas", "tensorflow_cpu_2.7", "--out", str(tmp_path / "kit"))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(report.read_text())
    assert outcome["code"] in (0, 1), result.stdout + result.stderr
    assert "Next steps:" in result.stdout
    assert outcome["loaded"] == [], f"deploy loaded {outcome['loaded']}"


READER_MODULES = frozenset({
    "savedmodel_widgets", "savedmodel_widgets.__main__", "savedmodel_widgets.cli",
    "savedmodel_widgets.cli_deploy",
    "savedmodel_widgets.errors", "savedmodel_widgets._lazy", "savedmodel_widgets.savedmodel",
    # The check against a runtime: the catalogue and the op registry (TensorFlow-free).
    "savedmodel_widgets.runtimes", "savedmodel_widgets.runtimes.catalogue",
    "savedmodel_widgets.runtimes.op_registry", "savedmodel_widgets.runtimes.graph_scan",
})
"""The modules ``show`` and ``check`` may import, besides those of ``savedmodel/``."""


def test_import_loads_only_the_errors_and_lazy_names_modules():
    code = ("import json, sys\nimport savedmodel_widgets\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('savedmodel_'))))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == ["savedmodel_widgets", "savedmodel_widgets._lazy",
                      "savedmodel_widgets.errors"]


def test_every_public_name_is_importable_and_convert_stays_the_function():
    import importlib

    import savedmodel_widgets as smw

    importlib.import_module("savedmodel_widgets.convert")  # as the ConvertWidget does
    assert callable(smw.convert) and smw.convert.__module__ == "savedmodel_widgets.convert"
    for name in smw.__all__:
        assert getattr(smw, name) is not None, name
    assert set(smw.__all__) <= set(dir(smw))


def test_export_and_verify_are_functions_beside_their_modules():
    import importlib

    import savedmodel_widgets as smw

    exporter = importlib.import_module("savedmodel_widgets.exporter")
    verifier = importlib.import_module("savedmodel_widgets.verifier")
    spec = importlib.import_module("savedmodel_widgets.spec")
    assert smw.export is exporter.export and smw.verify is verifier.verify
    assert smw.ExportSpec is spec.ExportSpec and smw.ExportResult is spec.ExportResult
