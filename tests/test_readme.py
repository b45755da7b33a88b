"""The README's own links and pictures point at files of this checkout."""

from __future__ import annotations

import re

from checkout_env import REPO

LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_and_image_of_the_readme_exists() -> None:
    readme = (REPO / "README.md").read_text()
    targets = [t for t in LINK.findall(readme) if not re.match(r"[a-z]+:|#", t)]
    assert "docs/images/export_widget.png" in targets
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert missing == [], f"README links to files that do not exist: {missing}"
    assert (REPO / "docs/images/export_widget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
