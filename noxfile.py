# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ctcloud.cloud: one nox session per stage of `python3 tools/dev.py test`, plus test, demo and emulator.

`nox -s NAME` runs one; `nox -s system -- -k token` hands what follows `--` to that stage's pytest or
ansible-test; plain `nox` runs `test`, everything, as CI does. DEVELOPERS.md, "nox", has the details.
"""

# Every session calls the harness, `python3 tools/dev.py`, and builds no environment of its own
# (python=False): the harness already makes the pinned .venv, .venv-py3.12 and .venv-eda, the
# offline get-pip shims ansible-test needs, the collection copy under .build/ and the emulators the
# stages run against. A session is exactly the stage it is named after, with the same result, and
# the README's two commands stay what they are.
#
# Plain nox, not antsibull-nox: antsibull-nox's ansible-test sessions run sanity, units and
# integration in containers (`--docker`), whose images cannot be pulled here; its devel and
# milestone ansible-core come from outside the package index; and its sessions make venvs of
# their own under .nox/ with their own tool versions, a second copy of what the harness pins,
# without the emulator, the dialects or the offline shims. Calling the harness duplicates nothing.
#
# tests/unit/tools/test_noxfile.py checks that every stage in tools/dev.py's STAGES has a session
# here that runs it, so the two cannot drift apart.

from __future__ import annotations

from pathlib import Path

import nox

HARNESS = str(Path(__file__).resolve().parent / "tools" / "dev.py")

nox.options.sessions = ["test"]  # plain `nox` is the README's test command, never the foreground emulator
nox.options.default_venv_backend = "none"


def _harness(session: nox.Session, *args: str) -> None:
    """Run ``python3 tools/dev.py ARGS`` (python3 from PATH, as the README says)."""
    session.run("python3", HARNESS, *args, external=True)


def _stage(session: nox.Session, name: str) -> None:
    """One stage of the test command; arguments after ``--`` go to its test runner."""
    extra = ["--", *session.posargs] if session.posargs else []
    _harness(session, "test", "--only", name, *extra)


@nox.session(python=False)
def ruff(session: nox.Session) -> None:
    """ruff check over plugins, extensions, tests, tools and noxfile.py."""
    _stage(session, "ruff")


@nox.session(python=False)
def sanity(session: nox.Session) -> None:
    """ansible-test sanity, no ignore files; compile + import on the other Pythons (-- ansible-test args)."""
    _stage(session, "sanity")


@nox.session(python=False)
def units(session: nox.Session) -> None:
    """ansible-test units (-- test paths or ansible-test args)."""
    _stage(session, "units")


@nox.session(python=False)
def integration(session: nox.Session) -> None:
    """ansible-test integration against a fresh emulator, dashboard dialect (-- target names)."""
    _stage(session, "integration")


@nox.session(python=False)
def system(session: nox.Session) -> None:
    """pytest tests/system, end to end with their own emulators (-- pytest args, e.g. -k token)."""
    _stage(session, "system")


@nox.session(python=False)
def eda(session: nox.Session) -> None:
    """The real ansible-rulebook runs heal_site with both event sources against the emulator (-- pytest args)."""
    _stage(session, "eda")


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ansible-lint --offline --profile production over the collection copy."""
    _stage(session, "lint")


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """antsibull-docs lint, then render every plugin page into .build/docs/plugins/."""
    _stage(session, "docs")


@nox.session(python=False)
def changelog(session: nox.Session) -> None:
    """antsibull-changelog lint."""
    _stage(session, "changelog")


@nox.session(python=False)
def build(session: nox.Session) -> None:
    """Build the tarball, install it, run the demo from the installed copy."""
    _stage(session, "build")


@nox.session(python=False)
def importer(session: nox.Session) -> None:
    """galaxy-importer on the built tarball (its ansible-test part cannot run here)."""
    _stage(session, "importer")


@nox.session(python=False)
def builder(session: nox.Session) -> None:
    """Execution environment: ansible-builder introspect and create (EE and decision environment)."""
    _stage(session, "builder")


@nox.session(python=False)
def py312(session: nox.Session) -> None:
    """Units and integration (legacy dialect) on Python 3.12 with the newest ansible-core."""
    _stage(session, "py312")


@nox.session(name="bench-smoke", python=False)
def bench_smoke(session: nox.Session) -> None:
    """tests/benchmark/run.py --smoke."""
    _stage(session, "bench-smoke")


@nox.session(python=False)
def test(session: nox.Session) -> None:
    """Every stage and the summary table, as CI runs it (-- harness options, e.g. --skip py312)."""
    _harness(session, "test", *session.posargs)


@nox.session(python=False)
def demo(session: nox.Session) -> None:
    """playbooks/demo.yml against a fresh emulator (-- ansible-playbook args, e.g. --check)."""
    extra = ["--", *session.posargs] if session.posargs else []
    _harness(session, "demo", *extra)


@nox.session(python=False)
def emulator(session: nox.Session) -> None:
    """The emulator in the foreground, with export lines for a shell (-- emulator args, e.g. --devices 500)."""
    _harness(session, "emulator", *session.posargs)
