"""Binder builds the tutorials' environment from ``binder/``: it must ask for what
``setup.cfg`` asks for, and the README's badge must open the first notebook."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
LINUX = {"platform_system": "Linux", "platform_machine": "x86_64"}
"""mybinder.org's machines: the markers of ``setup.cfg`` are evaluated for them."""


def requirement_lines(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def pinned(lines: list[str]) -> dict[str, str]:
    """``{name: specifier}`` of the requirements that apply on Binder's machines."""
    requirements = [Requirement(line) for line in lines]
    return {
        requirement.name.lower(): str(requirement.specifier)
        for requirement in requirements
        if requirement.marker is None or requirement.marker.evaluate(LINUX)
    }


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config


def test_binder_requirements_agree_with_setup_cfg():
    config = setup_cfg()
    wanted = requirement_lines(config["options"]["install_requires"])
    for extra in ("tf", "lab"):
        wanted += requirement_lines(config["options.extras_require"][extra])
    binder = requirement_lines((BINDER / "requirements.txt").read_text())

    assert pinned(binder) == pinned(wanted)


def test_post_build_installs_the_project_without_touching_its_requirements():
    commands = (BINDER / "postBuild").read_text()
    assert commands.startswith("#!/usr/bin/env bash\n")
    assert (BINDER / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert "pip install --no-deps -e .\n" in commands
    # The README's set-up command installs tf_keras the same way.
    assert "pip install --no-deps tf-keras\n" in commands
    assert "pip install --no-deps tf-keras" in (REPO / "README.md").read_text()


def test_readme_badge_opens_the_first_notebook_in_jupyterlab():
    readme = (REPO / "README.md").read_text()
    badges = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)]+)\)", readme)
    assert len(badges) == 1, badges
    repository = setup_cfg()["metadata"]["url"].removeprefix("https://github.com/")
    assert badges[0] == (f"https://mybinder.org/v2/gh/{repository}/HEAD"
                         "?urlpath=lab/tree/notebooks/00_start_here.ipynb")
    assert (REPO / "notebooks" / "00_start_here.ipynb").is_file()
