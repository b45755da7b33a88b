"""The browser tests on a machine without Chromium or Playwright: skipped with a reason
that says how to install them, and failed under CI (``CI=true``), which must run them.

Each case runs pytest on ``test_e2e.py`` in a child process (a few seconds: it only
collects), with ``SMW_CHROMIUM`` pointing nowhere or a ``playwright`` package that
cannot be imported placed first on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from checkout_env import REPO, checkout_env

HIDDEN_PLAYWRIGHT = 'raise ImportError("No module named \'playwright\' (hidden by the test)")\n'


def run_e2e(tmp_path: Path, *, ci: str, chromium: bool, playwright: bool
            ) -> subprocess.CompletedProcess[str]:
    """Run ``pytest tests/test_e2e.py`` without Chromium and/or Playwright."""
    env = checkout_env()
    env["CI"] = ci
    if not chromium:
        env["SMW_CHROMIUM"] = str(tmp_path / "no-chromium")
    if not playwright:
        hidden = tmp_path / "hidden" / "playwright"
        hidden.mkdir(parents=True)
        (hidden / "__init__.py").write_text(HIDDEN_PLAYWRIGHT)
        env["PYTHONPATH"] = os.pathsep.join([str(hidden.parent), env["PYTHONPATH"]])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_e2e.py", "-q", "-rs",
         "-p", "no:cacheprovider"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize(("chromium", "playwright", "install"), [
    (False, True, "apt-get install -y chromium fonts-liberation"),
    (True, False, "pip install playwright"),
], ids=["no-chromium", "no-playwright"])
def test_browser_tests_are_skipped_with_how_to_install_what_is_missing(
        tmp_path, chromium, playwright, install):
    result = run_e2e(tmp_path, ci="", chromium=chromium, playwright=playwright)

    # Skipped as a module, so no test is collected: pytest's exit code 5, not a failure.
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout
    assert "1 skipped" in result.stdout and "error" not in result.stdout
    assert "The browser tests need" in result.stdout and install in result.stdout


def test_browser_tests_fail_under_ci_when_chromium_is_missing(tmp_path):
    result = run_e2e(tmp_path, ci="true", chromium=False, playwright=True)

    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout  # collection error
    assert "1 error" in result.stdout
    assert "Under CI (CI=true) they are required" in result.stdout
    assert "apt-get install -y chromium fonts-liberation" in result.stdout
