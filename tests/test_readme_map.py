"""README's development map names every module of the package (issue 10).

A reader finds "how whiteouts are applied" or "how the tree pane draws a row" by file names; the
map in README.md's "Development" section is where they look first, so it must not fall behind.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _map_text() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Development", 1)[1]
    return section.split("```", 2)[1]


def test_every_module_is_in_the_development_map() -> None:
    text = _map_text()
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*\.py", text))
    modules = {
        path.name
        for path in (REPO / "dive_py").rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    assert sorted(modules - named) == [], "modules missing from README's development map"
    others = {"__init__.py", "stacking_oracle.py", "screenshots.py"}  # not dive_py modules
    assert sorted(named - modules - others) == [], "the map names modules that are gone"


def test_every_package_is_in_the_development_map() -> None:
    text = _map_text()
    packages = {
        path.parent.name for path in (REPO / "dive_py").rglob("__init__.py") if path.parent.name
    }
    for package in packages:
        assert f"{package}/" in text, package
