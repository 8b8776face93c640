# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""noxfile.py has a session for every stage of tools/dev.py's STAGES, and each runs its own stage.

Both files are read as source (ast), so neither nox nor the harness is imported: the test runs in
the units venv, which has neither. Both are left out of the built collection (galaxy.yml
build_ignore), where the test skips.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NOXFILE = ROOT / "noxfile.py"
HARNESS = ROOT / "tools" / "dev.py"
EXTRA_SESSIONS = {"test", "demo", "emulator"}


def harness_stages() -> list[str]:
    """The stage names of STAGES in tools/dev.py, in order."""
    for node in ast.parse(HARNESS.read_text(encoding="utf-8")).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "STAGES":
            return [ast.literal_eval(entry.elts[0]) for entry in node.value.elts]
    raise AssertionError("tools/dev.py has no STAGES")


def nox_sessions() -> dict[str, ast.FunctionDef]:
    """Session name -> function, for every function decorated with nox.session(...)."""
    sessions = {}
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            if isinstance(func, ast.Attribute) and func.attr == "session":
                names = [ast.literal_eval(kw.value) for kw in (call.keywords if call else []) if kw.arg == "name"]
                sessions[names[0] if names else node.name] = node
    return sessions


def called_stages(function: ast.FunctionDef) -> list[str]:
    """The names in ``_stage(session, "NAME")`` calls of a session function."""
    return [
        node.args[1].value
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_stage"
        and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)
    ]


@pytest.fixture(autouse=True)
def _in_the_repository():
    if not NOXFILE.is_file() and not HARNESS.is_file():
        pytest.skip("a built collection: neither noxfile.py nor tools/dev.py is shipped")


def test_every_stage_has_a_session_that_runs_it():
    stages, sessions = harness_stages(), nox_sessions()
    assert len(stages) >= 10, stages
    assert [stage for stage in stages if stage not in sessions] == []
    for stage in stages:
        assert called_stages(sessions[stage]) == [stage], f"session {stage} does not run stage {stage}"


def test_no_session_runs_a_stage_that_does_not_exist():
    stages, sessions = harness_stages(), nox_sessions()
    assert sorted(set(sessions) - set(stages)) == sorted(EXTRA_SESSIONS)
    for name, function in sessions.items():
        assert set(called_stages(function)) <= set(stages), name


def test_every_session_has_a_one_line_description():
    for name, function in nox_sessions().items():
        docstring = ast.get_docstring(function)
        assert docstring and docstring.strip().splitlines()[0], f"session {name} has no docstring for nox --list"
