# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""noxfile.py: what plain `nox` runs, what each session installs, and that DEVELOPERS.md names every session.

The noxfile is read as source (ast): the units venv has no nox. noxfile.py, tools/ and this
directory are left out of the built collection (galaxy.yml build_ignore), where the tests skip.
"""

from __future__ import annotations

import ast
import contextlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NOXFILE = ROOT / "noxfile.py"
# Sessions plain `nox` leaves out: they are not checks (default=False).
NOT_CHECKS = {"demo", "emulator", "bench"}


def sessions() -> dict[str, tuple[ast.FunctionDef, bool]]:
    """Session name -> (function, runs in plain `nox`), for every function decorated with nox.session(...)."""
    found = {}
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        for decorator in getattr(node, "decorator_list", []):
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "session":
                keywords = {kw.arg: ast.literal_eval(kw.value) for kw in decorator.keywords if kw.arg in ("name", "default")}
                found[keywords.get("name", node.name)] = (node, keywords.get("default", True))
    return found


def constants() -> dict[str, object]:
    """The noxfile's top-level ``NAME = <literal>`` assignments (ANSIBLE, the tuple several sessions install)."""
    found = {}
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):  # not a literal: PATH, DIALECTS, ...
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


def installed(function: ast.FunctionDef) -> list[str]:
    """The package names of ``_install(session, "a", *NAMES)`` calls, a starred constant expanded."""
    names = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_install":
            for arg in node.args[1:]:
                if isinstance(arg, ast.Starred):
                    names += list(constants()[arg.value.id])
                else:
                    names.append(ast.literal_eval(arg))
    return names


@pytest.fixture(autouse=True)
def _in_the_repository():
    if not NOXFILE.is_file():
        pytest.skip("a built collection: noxfile.py is not shipped")


def test_plain_nox_runs_every_check_and_nothing_that_is_not_one():
    found = sessions()
    assert len(found) >= 15, sorted(found)
    assert {name for name, (_function, default) in found.items() if not default} == NOT_CHECKS
    checks = [name for name, (_function, default) in found.items() if default]
    for check in ("ruff", "sanity", "units", "integration", "system", "eda", "lint", "docs", "changelog", "build", "importer", "builder",
                  "py312", "bench-smoke"):
        assert check in checks


def test_every_session_has_a_one_line_description():
    for name, (function, _default) in sessions().items():
        docstring = ast.get_docstring(function)
        assert docstring and docstring.strip().splitlines()[0].strip(), f"session {name} has no description for `nox --list`"


def test_every_package_a_session_installs_is_pinned():
    pinned = set(re.findall(r"^([A-Za-z0-9_.-]+)==", (ROOT / "tests" / "constraints.txt").read_text(encoding="utf-8"), re.M))
    assert "ansible-core" in installed(sessions()["integration"][0]), "*ANSIBLE was not expanded"
    for name, (function, _default) in sessions().items():
        assert set(installed(function)) <= pinned, f"session {name} installs something tests/constraints.txt does not pin"


def test_developers_md_names_every_session():
    guide = (ROOT / "DEVELOPERS.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `nox -s ([\w-]+)", guide, re.M))
    assert listed == set(sessions()), "DEVELOPERS.md's session table and noxfile.py disagree"
