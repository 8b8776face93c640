# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Developer harness of the ctcloud.cloud collection.

Run it from anywhere as ``python3 tools/dev.py <command>``; it needs nothing but
the Python standard library, git (optional) and the package index pip is
configured for.

Commands:

``setup [--python PATH] [--force]``
    Create the virtualenv (``.venv`` with the pinned tools of
    ``tests/requirements-dev.txt``; ``.venv-pyX.Y`` with
    ``tests/requirements-latest.txt`` for another interpreter), write the
    offline pip bootstrap shims ansible-test needs, and sync the collection copy
    under ``.build/collections/ansible_collections/ctcloud/cloud``.
``test [--only STAGES] [--skip STAGES] [--list] [--dialect NAME] [-- ARGS]``
    Run setup, then the test stages (see ``STAGES``), print a summary table and
    exit non-zero when a stage failed. ``--dialect`` runs the emulator-backed
    stages against one emulator dialect (``DIALECTS``) instead of their own.
    ``--only STAGE -- ARGS`` hands ARGS to the test runner of one stage of
    ``PASSTHROUGH_STAGES`` (``--only system -- -k token``).
``demo [--installed PATH] [-- ANSIBLE-PLAYBOOK ARGS]``
    Start a fresh emulator and run ``playbooks/demo.yml`` against it.
``emulator [EMULATOR ARGS]``
    Run the emulator in the foreground and print ``export`` lines for a shell.
``bench [BENCHMARK ARGS]``
    Run ``tests/benchmark/run.py`` in the virtualenv.

DEVELOPERS.md explains the design; ``python3 tools/dev.py --help`` the options.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".build"
TMP_ROOT = BUILD / "tmp"
LOG_DIR = BUILD / "logs"
PYBIN = BUILD / "pybin"
COLLECTIONS_ROOT = BUILD / "collections"
NAMESPACE, NAME = "ctcloud", "cloud"
COPY = COLLECTIONS_ROOT / "ansible_collections" / NAMESPACE / NAME

REQUIREMENTS_DEV = REPO / "tests" / "requirements-dev.txt"
REQUIREMENTS_LATEST = REPO / "tests" / "requirements-latest.txt"
REQUIREMENTS_EDA = REPO / "tests" / "requirements-eda.txt"
EDA_TESTS = Path("tests") / "eda"
# ansible-rulebook's rule engine (drools_jpy) runs on a JVM of at least this version.
JAVA_MAJOR = 17
JAVA_PACKAGES = ("openjdk-17-jre-headless", "default-jre-headless")
EMULATOR = Path("tests") / "emulator" / "run_emulator.py"
DEMO_PLAYBOOK = Path("playbooks") / "demo.yml"
BENCHMARK = Path("tests") / "benchmark" / "run.py"
INTEGRATION_CONFIG = Path("tests") / "integration" / "integration_config.yml"

# Without git, the directory walk skips what .gitignore lists.
WALK_SKIP_DIRS = {".git", ".build", ".cache", ".pytest_cache", ".ruff_cache", ".ansible", "__pycache__", "context", ".tox"}
WALK_SKIP_SUFFIXES = (".pyc", ".tar.gz")

# ansible-test (2.19: pip 24.2, 2.21: pip 25.2) looks for a cached get-pip script
# named after the pip version it bootstraps into each venv it creates. The
# versions are also read from every installed ansible-test, see pip_shim_versions().
KNOWN_ANSIBLE_TEST_PIP_VERSIONS = ("24.2", "25.2")
SHIM_CACHE = Path.home() / ".ansible" / "test" / "cache"
SHIM_MARKER = "ctcloud.cloud tools/dev.py offline get-pip shim"
SHIM_SOURCE = f'''"""{SHIM_MARKER}.

ansible-test would download get-pip.py from a host this machine cannot reach. It
runs this file (cached here under the name it looks for) with pip's arguments.
ensurepip runs in a subprocess: run in-process it disables pip's configuration,
and with it the machine's index and CA settings.
"""
import subprocess
import sys

ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
sys.exit(subprocess.run([sys.executable, "-m", "pip", "install"] + ARGS, check=False).returncode)
'''

# The sanity stage runs every test on the venv's Python, and compile + import on
# these too: requires_ansible >=2.16 means controllers on 3.10 (2.16, 2.17) up to 3.13.
EXTRA_SANITY_PYTHONS = ("3.10", "3.12", "3.13")
MATRIX_PYTHON = "3.12"

# The emulator answers in two dialects (tests/emulator/ctcloud_emulator/dialects.py): "dashboard", the APIs as
# the vendor's dashboard shows them, and "legacy", the emulator of 0.1.0. Every integration target runs against
# both, at no extra cost: the integration stage (pinned ansible-core) against dashboard, the py312 stage (newest
# ansible-core) against legacy. `test --dialect NAME` runs both stages against one dialect. See DEVELOPERS.md.
DIALECTS = ("dashboard", "legacy")
INTEGRATION_DIALECT = "dashboard"
MATRIX_DIALECT = "legacy"

# The emulator's start line -> tests/integration/integration_config.yml (docs/api-contract.md).
CONFIG_FROM_START_LINE = (
    ("ct_api_url", ("ct", "api_url")),
    ("ct_auth_url", ("ct", "auth_url")),
    ("ct_client_id", ("ct", "client_id")),
    ("ct_client_secret", ("ct", "client_secret")),
    ("ct_refresh_token", ("ct", "refresh_token")),
    ("ct_redirect_uri", ("ct", "redirect_uri")),
    ("cthings_api_url", ("cthings", "api_url")),
    ("cthings_auth_url", ("cthings", "auth_url")),
    ("cthings_client_id", ("cthings", "client_id")),
    ("cthings_client_secret", ("cthings", "client_secret")),
    ("emulator_admin_url", ("admin_url",)),
    ("emulator_dialect", ("dialect",)),
)
# The same as the demo/shell environment variables the modules read (CT_API_URL, ...): the
# connection values only, upper-cased.
ENV_FROM_START_LINE = tuple(
    (name.upper(), keys) for name, keys in CONFIG_FROM_START_LINE if keys[0] in ("ct", "cthings") and keys[-1] != "redirect_uri"
)

IS_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
COLOR = sys.stdout.isatty() and not IS_CI and "NO_COLOR" not in os.environ

# Process groups started by this harness; all are killed on exit whatever happens.
_LIVE_GROUPS: set[int] = set()


class HarnessError(Exception):
    """A failure the harness explains in one message (no traceback)."""


class StageSkipped(Exception):
    """A stage whose inputs do not exist (yet); the message says which."""


# --------------------------------------------------------------------------- output


def _style(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if COLOR else text


def say(message: str = "") -> None:
    """Print a line of the harness's own output, flushed before any child writes."""
    print(message, flush=True)


def note(message: str) -> None:
    """Print a remark of the harness, set apart from tool output."""
    say(_style(f"-- {message}", "36"))


def header(title: str) -> None:
    """Print a banner that is easy to find in a long CI log."""
    rule = "=" * 78
    say()
    say(_style(rule, "1"))
    say(_style(f"== {title}", "1"))
    say(_style(rule, "1"))


def rel(path: Path) -> str:
    """A path relative to the repository when it is inside it, for short messages."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- processes


def _kill_group(pgid: int, grace: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM a process group, then SIGKILL it if it is still there after ``grace`` seconds.

    ``proc``, the group's leader, is reaped while waiting: an unreaped leader is a
    zombie that still counts as a member of the group.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                _LIVE_GROUPS.discard(pgid)
                return
            time.sleep(0.05)
    _LIVE_GROUPS.discard(pgid)


@atexit.register
def _kill_leftovers() -> None:
    for pgid in list(_LIVE_GROUPS):
        _kill_group(pgid, grace=3.0)


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM/SIGHUP into an exception so that every ``finally`` (emulator
    # shutdown, temp dir cleanup) runs, then the atexit hook kills what is left.
    raise SystemExit(128 + signum)


def start(cmd: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, which the harness kills on exit."""
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [str(part) for part in cmd], cwd=str(cwd), env=env, start_new_session=True, **kwargs
    )
    _LIVE_GROUPS.add(proc.pid)
    return proc


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process started by :func:`start` and everything it started."""
    _kill_group(proc.pid, grace, proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def run(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    log: Path | None = None,
    echo: bool = True,
) -> int:
    """Run ``cmd`` to completion and return its exit code.

    Output goes to the terminal, or to ``log`` when given. On timeout or
    interruption the command's whole process group is killed.
    """
    if echo:
        say(_style(f"$ {shlex.join(str(part) for part in cmd)}", "2") + f"   (in {rel(cwd)})")
    out = log.open("ab") if log else None
    try:
        proc = start(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"!! timed out after {timeout:.0f} s: {cmd[0]}")
            return 124
        finally:
            stop(proc, grace=5.0)
    finally:
        if out:
            out.close()


def run_tee(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600, on_line: Callable[[str], None] | None = None
) -> tuple[int, str]:
    """Like :func:`run`, output shown as it comes, and also returned (to look for tell-tale lines); ``on_line`` sees each line."""
    say(_style(f"$ {shlex.join(str(part) for part in cmd)}", "2") + f"   (in {rel(cwd)})")
    lines: list[str] = []
    proc = start(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if on_line is not None:
                on_line(line)
            sys.stdout.write(line)
            sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        say(f"!! timed out after {timeout:.0f} s: {cmd[0]}")
        code = 124
    finally:
        stop(proc, grace=5.0)
        reader.join(timeout=10)
    return code, "".join(lines)


def capture(cmd: Sequence[str], *, cwd: Path = REPO, timeout: float = 60) -> tuple[int, str]:
    """Run a quick command and return its exit code and stdout (stderr is dropped)."""
    try:
        done = subprocess.run([str(part) for part in cmd], cwd=str(cwd), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return done.returncode, done.stdout.decode("utf-8", "replace")


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file (empty when it does not exist)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory under .build/tmp, removed afterwards unless the block failed."""
    TMP_ROOT.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=str(TMP_ROOT)))
    try:
        yield path
    except StageSkipped:
        shutil.rmtree(path, ignore_errors=True)
        raise
    except BaseException:
        note(f"kept {rel(path)} for inspection")
        raise
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- virtualenvs


@dataclass
class Venv:
    """A virtualenv of the harness."""

    path: Path
    version: str  # "3.11"

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        """A console script installed in the venv."""
        return self.path / "bin" / name

    def env(self, collections: Path | None = None) -> dict[str, str]:
        """The environment for a tool of this venv: its bin first on PATH, no colours in CI."""
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = os.pathsep.join([str(self.path / "bin"), str(PYBIN), env.get("PATH", "")])
        env["PIP_PROGRESS_BAR"] = "off"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        if not COLOR:
            env.update(NO_COLOR="1", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", TERM="dumb")
        if collections is not None:
            env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
        return env


def python_version(python: str) -> str | None:
    """``"X.Y"`` of a working interpreter that can create venvs, else None (pyenv shims of inactive versions fail here)."""
    code, out = capture([python, "-c", "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"], timeout=30)
    out = out.strip()
    return out if code == 0 and re.fullmatch(r"\d+\.\d+", out) else None


def base_python() -> str:
    """The interpreter running this script, or the one a venv running it was made from."""
    if sys.prefix != sys.base_prefix:
        candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        if candidate.exists():
            return str(candidate)
    return sys.executable


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` ("3.12"): on PATH, then pyenv's versions, then the usual places."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pyenv = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), key=lambda p: _version_key(p.parts[-3]), reverse=True)
    candidates += [str(path) for path in pyenv]
    candidates += [f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"]
    for candidate in candidates:
        if Path(candidate).exists() and python_version(candidate) == version:
            return candidate
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def link_pythons(versions: Sequence[str]) -> dict[str, str | None]:
    """Put ``pythonX.Y`` links to real interpreters in .build/pybin (on every tool's PATH).

    ansible-test looks interpreters up on PATH by name; pyenv's shims for
    versions that are installed but not active fail, so link the real ones.
    """
    PYBIN.mkdir(parents=True, exist_ok=True)
    found: dict[str, str | None] = {}
    for version in versions:
        link = PYBIN / f"python{version}"
        python = find_python(version)
        found[version] = python
        if python and not (link.is_symlink() and os.readlink(link) == python):
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(python)
    return found


def ensure_venv(python: str | None = None, force: bool = False, name: str | None = None, requirements_file: Path | None = None) -> Venv:
    """Create or update a harness venv; fast when its requirements are installed already.

    Without ``python``: ``.venv`` from the interpreter running this script, with
    the pinned ``tests/requirements-dev.txt``. With it: ``.venv-pyX.Y`` with
    ``tests/requirements-latest.txt`` (newest ansible-core for that Python).
    ``name`` and ``requirements_file`` make a venv of another purpose (``.venv-eda``).
    """
    interpreter = python or base_python()
    version = python_version(interpreter)
    if version is None:
        raise HarnessError(f"{interpreter} is not a working Python with the venv and ensurepip modules")
    if name is not None and requirements_file is not None:
        path, requirements = REPO / name, requirements_file
    elif python is None:
        path, requirements = REPO / ".venv", REQUIREMENTS_DEV
    else:
        path, requirements = REPO / f".venv-py{version}", REQUIREMENTS_LATEST
    venv = Venv(path, version)
    digest = hashlib.sha256(requirements.read_bytes() + f"\n{interpreter}\n{version}".encode()).hexdigest()
    marker = path / ".ctcloud-requirements.sha256"
    venv_current = python_version(str(venv.python)) == version  # one subprocess, not one per question
    if not force and venv_current and marker.is_file() and marker.read_text().strip() == digest:
        note(f"{rel(path)}: Python {version}, {rel(requirements)} already installed")
    else:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / f"setup-{path.name}.log"
        log.write_text("")
        started = time.monotonic()
        if not venv_current or force:
            note(f"creating {rel(path)} with {interpreter} (Python {version})")
            if run([interpreter, "-m", "venv", "--clear", path], cwd=REPO, log=log, timeout=300, echo=False):
                raise HarnessError(f"creating {rel(path)} failed:\n{tail(log)}")
        note(f"installing {rel(requirements)} into {rel(path)} (log: {rel(log)})")
        pip = [venv.python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-r", requirements]
        if run(pip, cwd=REPO, env=venv.env(), log=log, timeout=1800, echo=False):
            raise HarnessError(f"pip install into {rel(path)} failed:\n{tail(log)}")
        marker.write_text(digest + "\n")
        note(f"{rel(path)} ready in {time.monotonic() - started:.0f} s")
    write_pip_shims(venv)
    return venv


def pip_shim_versions(venv: Venv) -> list[str]:
    """The pip versions whose get-pip script the venv's ansible-test looks for."""
    versions = set(KNOWN_ANSIBLE_TEST_PIP_VERSIONS)
    for source in venv.path.glob("lib/python*/site-packages/ansible_test/_internal/python_requirements.py"):
        match = re.search(r"default_packages = dict\(\s*pip='([\d.]+)'", source.read_text(encoding="utf-8"))
        if match:
            versions.add(match.group(1))
    return sorted(versions, key=_version_key)


def write_pip_shims(venv: Venv) -> None:
    """Write ~/.ansible/test/cache/get_pip_<ver>.py shims; a real get-pip.py found there is left alone."""
    SHIM_CACHE.mkdir(parents=True, exist_ok=True)
    for version in pip_shim_versions(venv):
        shim = SHIM_CACHE / f"get_pip_{version.replace('.', '_')}.py"
        if shim.exists():
            current = shim.read_text(encoding="utf-8", errors="replace")
            if current == SHIM_SOURCE or SHIM_MARKER not in current:
                continue
        shim.write_text(SHIM_SOURCE, encoding="utf-8")
        note(f"wrote offline pip bootstrap shim {shim}")


# --------------------------------------------------------------------------- collection copy


def _git_work_tree() -> bool:
    """Whether REPO itself (not a directory above it) is the top of a git work tree."""
    if not (REPO / ".git").exists():
        return False
    code, out = capture(["git", "-C", REPO, "rev-parse", "--show-toplevel"])
    return code == 0 and Path(out.strip()).resolve() == REPO


def source_files() -> list[str]:
    """Files of the working tree that belong to the collection (tracked and untracked-not-ignored)."""
    if _git_work_tree():
        code, out = capture(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], timeout=120)
        if code == 0:
            names = (name for name in out.split("\0") if name)
            return sorted(name for name in names if (REPO / name).is_file() or (REPO / name).is_symlink())
    note("no git work tree: walking the directory instead of asking git")
    found = []
    for root, dirs, files in os.walk(REPO):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if d not in WALK_SKIP_DIRS and not d.startswith(".venv") and not _is_output(root_path / d))
        found += [(root_path / f).relative_to(REPO).as_posix() for f in files if not f.endswith(WALK_SKIP_SUFFIXES)]
    return sorted(found)


def _is_output(path: Path) -> bool:
    return path.relative_to(REPO).as_posix() in ("tests/output", "tests/benchmark/results")


def _preserved(relative: str) -> bool:
    """Paths of the copy that are not the working tree's and must survive a sync."""
    return any(relative == keep or relative.startswith(keep + "/") for keep in (".git", "tests/output")) or relative == INTEGRATION_CONFIG.as_posix()


def sync_copy() -> None:
    """Make COPY an exact copy of the working tree's collection files (not a symlink: ansible-test resolves paths)."""
    if COPY.is_symlink():
        COPY.unlink()
    COPY.mkdir(parents=True, exist_ok=True)
    # ansible-test and ansible-lint look for .git upwards from the collection:
    # without one of its own they would find the work tree's, where .build is
    # ignored, and see no files at all. An empty repository lists every file
    # the copied .gitignore does not ignore ("untracked"): exactly the collection.
    if not (COPY / ".git").exists() and shutil.which("git") and capture(["git", "init", "-q", COPY])[0]:
        raise HarnessError(f"git init {rel(COPY)} failed")
    wanted = set(source_files())
    copied = removed = 0
    for relative in sorted(wanted):
        src, dst = REPO / relative, COPY / relative
        if src.is_symlink():
            target = os.readlink(src)
            if dst.is_symlink() and os.readlink(dst) == target:
                continue
            _remove(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(target)
        else:
            stat = src.stat()
            if dst.is_file() and not dst.is_symlink():
                current = dst.stat()
                if (current.st_size, current.st_mtime_ns, current.st_mode) == (stat.st_size, stat.st_mtime_ns, stat.st_mode):
                    continue
            _remove(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        copied += 1
    for root, dirs, files in os.walk(COPY, topdown=False):
        root_path = Path(root)
        for name in files + [d for d in dirs if (root_path / d).is_symlink()]:
            relative = (root_path / name).relative_to(COPY).as_posix()
            if relative not in wanted and not _preserved(relative):
                (root_path / name).unlink()
                removed += 1
        if root_path != COPY and not _preserved(root_path.relative_to(COPY).as_posix()):
            with contextlib.suppress(OSError):
                root_path.rmdir()  # only succeeds when empty
    note(f"collection copy {rel(COPY)}: {len(wanted)} files, {copied} updated, {removed} stale removed")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def setup(python: str | None = None, force: bool = False) -> Venv:
    """Everything every command needs: the venv, the pip shims and the collection copy."""
    venv = ensure_venv(python, force=force)
    sync_copy()
    return venv


# --------------------------------------------------------------------------- emulator


class Emulator:
    """The API emulator as a context manager: started fresh, always stopped.

    ``start_line`` is the JSON object the emulator prints when ready (see
    docs/api-contract.md, "The emulator").
    """

    def __init__(self, venv: Venv, workdir: Path, args: Sequence[str] = (), ready_timeout: float = 90) -> None:
        self.venv = venv
        self.workdir = workdir
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.ready_file = workdir / "emulator-ready.json"
        self.log = workdir / "emulator.log"
        self.proc: subprocess.Popen | None = None
        self.start_line: dict = {}

    def __enter__(self) -> Emulator:
        script = REPO / EMULATOR
        if not script.is_file():
            raise StageSkipped(f"{EMULATOR} does not exist yet")
        cmd = [str(self.venv.python), str(script)]
        if "--port" not in self.args:
            cmd += ["--port", "0"]
        cmd += ["--ready-file", str(self.ready_file), *self.args]
        note(f"starting the emulator: {shlex.join(cmd[1:])} (log: {rel(self.log)})")
        with self.log.open("wb") as out:
            self.proc = start(cmd, cwd=REPO, env=self.venv.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            self.start_line = self._wait_ready()
            self._check_health()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        note(f"emulator ready: pid {self.start_line.get('pid')}, admin {self.start_line.get('admin_url')}")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            stop(self.proc)
            note(f"emulator stopped (exit {self.proc.returncode})")
            self.proc = None

    def _wait_ready(self) -> dict:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            for source in (self.ready_file, self.log):
                line = _first_json_line(source)
                if line:
                    return line
            if self.proc is not None and self.proc.poll() is not None:
                raise HarnessError(f"the emulator exited with {self.proc.returncode} before it was ready:\n{tail(self.log)}")
            time.sleep(0.1)
        raise HarnessError(f"the emulator printed no start line within {self.ready_timeout:.0f} s:\n{tail(self.log)}")

    def _check_health(self) -> None:
        url = f"{self.start_line['admin_url']}/health"
        status, body = http_get(url)
        if status != 200:
            raise HarnessError(f"GET {url} answered {status}: {body[:200]}")

    def value(self, keys: tuple[str, ...]) -> str:
        """A value of the start line by its key path, e.g. ``("ct", "api_url")``."""
        node = self.start_line
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise HarnessError(f"the emulator's start line has no {'.'.join(keys)}")
        return str(node)


def _first_json_line(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and "admin_url" in data:
                    return data
    return None


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """GET a plain-HTTP loopback URL; (0, reason) when it cannot connect."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError as ex:
        return 0, str(ex)
    finally:
        conn.close()


def emulator_environment(emulator: Emulator, token_store: Path) -> dict[str, str]:
    """The CT_* / CTHINGS_* variables the modules and inventory plugins read."""
    env = {name: emulator.value(keys) for name, keys in ENV_FROM_START_LINE}
    env["CTCLOUD_TOKEN_STORE"] = str(token_store)
    return env


def write_integration_config(path: Path, emulator: Emulator, token_store: Path) -> None:
    """Write the variables integration targets get (ansible-test passes the file as ``-e @file``)."""
    values = {name: emulator.value(keys) for name, keys in CONFIG_FROM_START_LINE}
    values["ctcloud_token_store"] = str(token_store)
    lines = ["# Written by tools/dev.py for one run against a fresh emulator; do not edit or commit."]
    lines += [f"{name}: {json.dumps(value)}" for name, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- stages


@dataclass
class Context:
    """What the stages of one ``test`` run share."""

    venv: Venv
    tarball: Path | None = None
    dialect: str | None = None  # `test --dialect`: every emulator-backed stage against this dialect only
    extra: tuple[str, ...] = ()  # `test --only STAGE -- ARGS`: ARGS for that stage's test runner (PASSTHROUGH_STAGES)

    def ansible_test(self, venv: Venv | None = None) -> list[str]:
        """The start of an ansible-test command line for a venv (default: .venv)."""
        venv = venv or self.venv
        return [str(venv.bin("ansible-test"))]

    def color_args(self) -> list[str]:
        """ansible-test's colour option, off in CI logs."""
        return ["--color", "yes" if COLOR else "no"]


def stage_ruff(ctx: Context) -> str:
    """ruff check over plugins, extensions, tests, tools and noxfile.py."""
    paths = [name for name in ("plugins", "extensions", "tests", "tools", "noxfile.py") if (REPO / name).exists()]
    code = run([ctx.venv.bin("ruff"), "check", *paths], cwd=REPO, env=ctx.venv.env(), timeout=300)
    if code:
        raise HarnessError(f"ruff exited with {code}")
    return ""


ALL_SKIPPED = "All targets skipped."


def stage_sanity(ctx: Context) -> str:
    """ansible-test sanity (all tests) on the venv's Python; compile + import on the other controller Pythons."""
    env = ctx.venv.env()
    cmd = [*ctx.ansible_test(), "sanity", "--venv", "--python", ctx.venv.version, *ctx.color_args(), *ctx.extra]
    failures = []
    code, output = run_tee(cmd, cwd=COPY, env=env, timeout=1800)
    if code:
        failures.append(f"sanity on {ctx.venv.version}")
    elif ALL_SKIPPED in output:
        failures.append("ansible-test found no files to test: is the collection copy complete?")
    others = [v for v in EXTRA_SANITY_PYTHONS if v != ctx.venv.version]
    found = link_pythons(others)
    missing = [v for v in others if not found[v]]
    for version in others:
        if found[version]:
            cmd = [*ctx.ansible_test(), "sanity", "--venv", "--python", version, "--test", "compile", "--test", "import", *ctx.color_args()]
            if run(cmd, cwd=COPY, env=env, timeout=900):
                failures.append(f"compile/import on {version}")
    if missing:
        message = f"no interpreter for Python {', '.join(missing)}: compile/import not run there"
        if IS_CI:
            failures.append(message)
        else:
            note(message)
    if failures:
        raise HarnessError("; ".join(failures))
    return f"full on {ctx.venv.version}; compile+import on {', '.join(v for v in others if found[v]) or 'no other Python'}"


def ensure_redis_server() -> str:
    """The path of ``redis-server``, which the Redis token store's tests start; installed with apt-get (as root) when missing.

    Missing and not installable is a failure, never a skip: those tests are the only proof the shared store works.
    """
    found = shutil.which("redis-server") or next((p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)), None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise HarnessError("redis-server is not installed: run `apt-get install redis-server` (the harness does it when run as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"]):
        if run(cmd, cwd=REPO, env=env, timeout=900):
            raise HarnessError(f"`{shlex.join(cmd)}` failed: redis-server is needed by the token store tests")
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if not found:
        raise HarnessError("apt-get installed redis-server, but no redis-server binary was found")
    return found


def _has_unit_tests() -> bool:
    return any((COPY / "tests" / "unit").rglob("test_*.py"))


def _units(ctx: Context, venv: Venv) -> None:
    if not _has_unit_tests():
        raise StageSkipped("no tests/unit/**/test_*.py yet")
    ensure_redis_server()
    cmd = [*ctx.ansible_test(venv), "units", "--venv", "--python", venv.version, *ctx.color_args(), *ctx.extra]
    code, output = run_tee(cmd, cwd=COPY, env=venv.env(), timeout=1800)
    if code:
        raise HarnessError(f"ansible-test units on Python {venv.version} exited with {code}")
    if ALL_SKIPPED in output:
        raise StageSkipped("ansible-test skipped every unit test target")


def stage_units(ctx: Context) -> str:
    """ansible-test units (tests/unit/requirements.txt is installed into its venv)."""
    _units(ctx, ctx.venv)
    return ""


def integration_targets() -> list[str]:
    """Names of the integration targets (directories with an aliases file)."""
    targets = COPY / "tests" / "integration" / "targets"
    return sorted(path.parent.name for path in targets.glob("*/aliases")) if targets.is_dir() else []


def _integration(ctx: Context, venv: Venv, dialect: str = INTEGRATION_DIALECT) -> str:
    targets = integration_targets()
    if not targets:
        raise StageSkipped("no integration targets (tests/integration/targets/*/aliases) yet")
    config = COPY / INTEGRATION_CONFIG
    dialect = ctx.dialect or dialect
    with temp_dir(f"integration-py{venv.version}") as work, Emulator(ctx.venv, work, ["--dialect", dialect]) as emulator:
        token_store = work / "tokens" / "tokens.json"
        write_integration_config(config, emulator, token_store)
        env = venv.env()
        env["CTCLOUD_TOKEN_STORE"] = str(token_store)  # never the developer's own store
        timer = TargetTimer()
        try:
            cmd = [*ctx.ansible_test(venv), "integration", "--venv", "--python", venv.version, *ctx.color_args(), *ctx.extra]
            code, output = run_tee(cmd, cwd=COPY, env=env, timeout=2400, on_line=timer.line)
        finally:
            with contextlib.suppress(FileNotFoundError):
                config.unlink()
        timer.report()
        if code:
            say(f"-- last lines of the emulator log:\n{tail(emulator.log, 20)}")
            raise HarnessError(f"ansible-test integration on Python {venv.version} exited with {code}")
        if ALL_SKIPPED in output:
            raise StageSkipped("ansible-test skipped every integration target (see their aliases)")
    return f"{shlex.join(ctx.extra) if ctx.extra else f'{len(targets)} target(s)'} against the {dialect} dialect"


class TargetTimer:
    """Seconds per integration target, from ansible-test's "Running X integration test role" lines."""

    PATTERN = re.compile(r"^Running (\S+) integration test (?:role|script|playbook)")

    def __init__(self) -> None:
        self.starts: list[tuple[str, float]] = []
        self.end = 0.0

    def line(self, text: str) -> None:
        """Called for every line of ansible-test's output."""
        now = time.monotonic()
        match = self.PATTERN.match(text)
        if match:
            self.starts.append((match.group(1), now))
        self.end = now

    def report(self) -> None:
        """Print the targets, slowest first: where the stage's time goes."""
        if not self.starts:
            return
        ends = [start for _name, start in self.starts[1:]] + [self.end]
        durations = sorted(((end - start, name) for (name, start), end in zip(self.starts, ends, strict=True)), reverse=True)
        note("seconds per target: " + ", ".join(f"{name} {seconds:.0f}" for seconds, name in durations))


def stage_integration(ctx: Context) -> str:
    """ansible-test integration against a fresh emulator of the dashboard dialect (URLs in integration_config.yml)."""
    return _integration(ctx, ctx.venv, INTEGRATION_DIALECT)


def stage_system(ctx: Context) -> str:
    """pytest tests/system: end-to-end suites that start their own emulators and run ansible-playbook."""
    system = REPO / "tests" / "system"
    if not system.is_dir() or not any(system.rglob("test_*.py")):
        raise StageSkipped("tests/system has no test_*.py yet")
    ensure_redis_server()
    cmd = [ctx.venv.python, "-m", "pytest", "tests/system", "-q", "-p", "no:cacheprovider", *ctx.extra]
    env = ctx.venv.env(COLLECTIONS_ROOT)
    if ctx.dialect:
        env["CTCLOUD_EMULATOR_DIALECTS"] = ctx.dialect  # tests/system/conftest.py: the dialects its emulators speak
    code = run(cmd, cwd=REPO, env=env, timeout=1800)
    if code == 5:
        raise StageSkipped("pytest collected no tests in tests/system")
    if code:
        raise HarnessError(f"pytest exited with {code}")
    return ""


def java_major() -> int | None:
    """The major version of ``java`` on PATH (``17`` from ``openjdk version "17.0.15"``), None without one."""
    if not shutil.which("java"):
        return None
    try:
        done = subprocess.run(["java", "-version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(?:1\.)?(\d+)', done.stderr.decode("utf-8", "replace") + done.stdout.decode("utf-8", "replace"))
    return int(match.group(1)) if match else None


def ensure_java() -> str:
    """A Java runtime for ansible-rulebook: found, or installed with apt-get when running as root.

    Missing, it fails the stage in CI (the suite must not pass without its end-to-end test)
    and skips it elsewhere, saying how to install one.
    """
    major = java_major()
    if major is not None and major >= JAVA_MAJOR:
        return f"Java {major}"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        note(f"no Java {JAVA_MAJOR}+ runtime (found {major}): installing one with apt-get")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / "apt-java.log"
        run(["apt-get", "update"], cwd=REPO, env=env, timeout=900, log=log)
        for package in JAVA_PACKAGES:
            cmd = ["apt-get", "install", "-y", "--no-install-recommends", package]
            if run(cmd, cwd=REPO, env=env, timeout=1800, log=log) == 0:
                major = java_major()
                if major is not None and major >= JAVA_MAJOR:
                    return f"Java {major} (installed {package})"
        note(f"apt-get did not give a Java {JAVA_MAJOR}+ runtime; its output is in {rel(log)}:\n{tail(log, 15)}")
    message = f"no Java {JAVA_MAJOR}+ runtime for ansible-rulebook (found {major}); install openjdk-17-jre-headless"
    if IS_CI:
        raise HarnessError(message)
    raise StageSkipped(message)


def stage_eda(ctx: Context) -> str:
    """ansible-rulebook end to end: the heal_site rulebook with both event sources against the emulator (tests/eda)."""
    if not (REPO / EDA_TESTS).is_dir() or not any((REPO / EDA_TESTS).glob("test_*.py")):
        raise StageSkipped(f"{EDA_TESTS} has no test_*.py yet")
    java = ensure_java()
    venv = ensure_venv(name=".venv-eda", requirements_file=REQUIREMENTS_EDA)
    rulebook = capture([venv.bin("ansible-rulebook"), "--version"])[1].splitlines()
    cmd = [venv.python, "-m", "pytest", EDA_TESTS, "-q", "-p", "no:cacheprovider", *ctx.extra]  # of ctx, only the extra arguments: a venv of its own
    code = run(cmd, cwd=REPO, env=venv.env(COLLECTIONS_ROOT), timeout=1800)
    if code == 5:
        raise HarnessError(f"pytest collected no tests in {EDA_TESTS}")
    if code:
        raise HarnessError(f"pytest exited with {code}")
    return f"{rulebook[0].strip() if rulebook else 'ansible-rulebook ?'}, {java}"


def _playbooks() -> list[Path]:
    return sorted(p for p in (COPY / "playbooks").glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def stage_lint(ctx: Context) -> str:
    """ansible-lint --offline --profile production over the collection copy (playbooks included)."""
    playbooks = _playbooks()
    if not playbooks:
        raise StageSkipped("playbooks/ has no playbooks yet")
    # ansible-lint applies .gitignore's anchored patterns only at the top level, so
    # ansible-test's tests/output would be linted without this.
    cmd = [ctx.venv.bin("ansible-lint"), "--offline", "--profile", "production", "--exclude", "tests/output"]
    if not COLOR:
        cmd.append("--nocolor")
    code = run(cmd, cwd=COPY, env=ctx.venv.env(COLLECTIONS_ROOT), timeout=900)
    if code:
        raise HarnessError(f"ansible-lint exited with {code}")
    return f"{len(playbooks)} playbook(s)"


RENDERED_DOCS = BUILD / "docs" / "plugins"


def stage_docs(ctx: Context) -> str:
    """antsibull-docs: lint the docs, then render every module and plugin page from the plugins' own docs.

    The rendered reference is built here, never committed, so it cannot drift from the code.
    """
    cmd = [ctx.venv.bin("antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."]
    code = run(cmd, cwd=COPY, env=ctx.venv.env(COLLECTIONS_ROOT), timeout=600)
    if code:
        raise HarnessError(f"antsibull-docs exited with {code}")
    shutil.rmtree(RENDERED_DOCS, ignore_errors=True)
    RENDERED_DOCS.mkdir(mode=0o700, parents=True)  # antsibull-docs insists on an owner-only directory
    cmd = [ctx.venv.bin("antsibull-docs"), "collection", "--use-current", "--squash-hierarchy", "--output-format", "simplified-rst",
           "--fail-on-error", "--dest-dir", RENDERED_DOCS, f"{NAMESPACE}.{NAME}"]
    code = run(cmd, cwd=COPY, env=ctx.venv.env(COLLECTIONS_ROOT), timeout=600)
    pages = sorted(RENDERED_DOCS.glob("*_module.rst")) + sorted(RENDERED_DOCS.glob("*_inventory.rst"))
    if code or not pages:
        raise HarnessError(f"antsibull-docs collection exited with {code} and rendered {len(pages)} pages")
    return f"{len(pages)} plugin pages rendered into {RENDERED_DOCS.relative_to(REPO)}"


def stage_changelog(ctx: Context) -> str:
    """antsibull-changelog lint (fragments and changelog.yaml)."""
    code = run([ctx.venv.bin("antsibull-changelog"), "lint"], cwd=COPY, env=ctx.venv.env(), timeout=300)
    if code:
        raise HarnessError(f"antsibull-changelog lint exited with {code}")
    return ""


def build_tarball(ctx: Context) -> Path:
    """ansible-galaxy collection build of the copy into .build/dist (once per run)."""
    if ctx.tarball and ctx.tarball.is_file():
        return ctx.tarball
    dist = BUILD / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    cmd = [ctx.venv.bin("ansible-galaxy"), "collection", "build", "--output-path", dist, "--force"]
    code = run(cmd, cwd=COPY, env=ctx.venv.env(), timeout=600)
    tarballs = sorted(dist.glob(f"{NAMESPACE}-{NAME}-*.tar.gz"))
    if code or len(tarballs) != 1:
        raise HarnessError(f"ansible-galaxy collection build exited with {code}, made {[t.name for t in tarballs]}")
    ctx.tarball = tarballs[0]
    return ctx.tarball


def stage_build(ctx: Context) -> str:
    """Build the tarball, install it into a temp path, run the demo from the installed copy."""
    tarball = build_tarball(ctx)
    with temp_dir("installed") as installed:
        cmd = [ctx.venv.bin("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", installed, tarball]
        code = run(cmd, cwd=installed, env=ctx.venv.env(installed), timeout=600)
        if code:
            raise HarnessError(f"ansible-galaxy collection install exited with {code}")
        installed_copy = installed / "ansible_collections" / NAMESPACE / NAME
        if not (installed_copy / "MANIFEST.json").is_file():
            raise HarnessError(f"the install made no {installed_copy}/MANIFEST.json")
        try:
            code = run_demo(ctx.venv, installed, [])
        except StageSkipped as ex:
            return f"{tarball.name} built and installed; demo not run: {ex}"
        if code:
            raise HarnessError(f"the demo from the installed collection exited with {code}")
    return f"{tarball.name} built, installed, demo passed"


IMPORTER_OFFLINE_CONFIG = """[galaxy-importer]
# See docs/galaxy-importer.md: ansible-test inside the importer needs a container
# runtime and images from a registry; neither is available here.
run_ansible_test = False
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
"""


def stage_importer(ctx: Context) -> str:
    """python -m galaxy_importer.main on the tarball (everything but its containerised ansible-test)."""
    tarball = build_tarball(ctx)
    with temp_dir("importer") as work:
        config = work / "galaxy-importer.cfg"
        config.write_text(IMPORTER_OFFLINE_CONFIG, encoding="utf-8")
        env = ctx.venv.env(COLLECTIONS_ROOT)
        env["GALAXY_IMPORTER_CONFIG"] = str(config)
        log = work / "importer.log"
        code = run([ctx.venv.python, "-m", "galaxy_importer.main", tarball], cwd=work, env=env, timeout=900, log=log)
        output = log.read_text(encoding="utf-8", errors="replace")
        say(output.rstrip())
        if code or "Importer processing completed successfully" not in output:
            raise HarnessError(f"galaxy-importer exited with {code}")
        warnings = sum(1 for line in output.splitlines() if line.startswith("WARNING"))
    return f"{warnings} warning(s); ansible-test part not run (docs/galaxy-importer.md)"


def stage_builder(ctx: Context) -> str:
    """Execution environments: introspection of the built collection, and ansible-builder create.

    ansible-builder reads a collection's meta/execution-environment.yml with paths relative to
    the collection root (that is how an EE picks up requests and jsonschema), so the EE
    definition to create from is the user-facing one in docs/execution-environment/.
    """
    definition = COPY / "docs" / "execution-environment" / "execution-environment.yml"
    if not (COPY / "meta" / "execution-environment.yml").is_file() or not definition.is_file():
        raise StageSkipped("meta/execution-environment.yml or docs/execution-environment/execution-environment.yml does not exist")
    tarball = build_tarball(ctx)
    with temp_dir("builder") as work:
        collections = work / "collections"
        cmd = [ctx.venv.bin("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", collections, tarball]
        if run(cmd, cwd=work, env=ctx.venv.env(), timeout=300):
            raise HarnessError("ansible-galaxy collection install of the tarball failed")
        code, out = capture([ctx.venv.bin("ansible-builder"), "introspect", collections], timeout=120)
        print(out)
        missing = [library for library in ("requests", "jsonschema") if library not in out]
        if code or missing:
            raise HarnessError(f"ansible-builder introspect exited with {code}; missing {missing}")
        # The decision environment (EDA controller) is built the same way, from its own definition.
        definitions = [definition] + [path for path in [definition.parent / "decision-environment.yml"] if path.is_file()]
        for each in definitions:
            context = work / f"context-{each.stem}"
            code = run([ctx.venv.bin("ansible-builder"), "create", "-f", each, "--context", context], cwd=each.parent, env=ctx.venv.env(), timeout=300)
            if code:
                raise HarnessError(f"ansible-builder create -f {each.name} exited with {code}")
            if not any(context.glob("*file")) or not (context / "_build" / "requirements.yml").is_file():
                raise HarnessError(f"ansible-builder made no Containerfile with the collection requirements from {each.name}")
    return f"introspection lists requests, jsonschema; create made a context from {', '.join(each.name for each in definitions)}"


def stage_py312(ctx: Context) -> str:
    """Units and integration (legacy dialect) on Python 3.12 with the newest ansible-core pip gives there."""
    python = find_python(MATRIX_PYTHON)
    if python is None:
        message = f"no Python {MATRIX_PYTHON} interpreter found"
        if IS_CI:
            raise HarnessError(message)
        raise StageSkipped(message)
    venv = ensure_venv(python)
    version = capture([venv.bin("ansible"), "--version"])[1]
    core = version.splitlines()[0] if version else "ansible-core ?"
    note(core)
    results, ran, failed = [], False, False
    parts: tuple[tuple[str, Callable[[Context, Venv], object]], ...] = (
        ("units", _units),
        ("integration", lambda context, matrix_venv: _integration(context, matrix_venv, MATRIX_DIALECT)),
    )
    for part, func in parts:
        try:
            detail = func(ctx, venv)
            results.append(f"{part} passed" + (f" ({detail})" if detail else ""))
            ran = True
        except StageSkipped as ex:
            results.append(f"{part} skipped: {ex}")
        except HarnessError as ex:  # still run the other half
            results.append(f"{part} FAILED: {str(ex).splitlines()[0]}")
            failed = True
    summary_text = f"{core.replace('ansible ', '')}: " + "; ".join(results)
    if failed:
        raise HarnessError(summary_text)
    if not ran:
        raise StageSkipped(summary_text)
    return summary_text


def stage_bench_smoke(ctx: Context) -> str:
    """tests/benchmark/run.py --smoke."""
    if not (REPO / BENCHMARK).is_file():
        raise StageSkipped(f"{BENCHMARK} does not exist yet")
    code = run([ctx.venv.python, BENCHMARK, "--smoke"], cwd=REPO, env=ctx.venv.env(COLLECTIONS_ROOT), timeout=900)
    if code:
        raise HarnessError(f"{BENCHMARK} --smoke exited with {code}")
    return ""


STAGES: tuple[tuple[str, Callable[[Context], str]], ...] = (
    ("ruff", stage_ruff),
    ("sanity", stage_sanity),
    ("units", stage_units),
    ("integration", stage_integration),
    ("system", stage_system),
    ("eda", stage_eda),
    ("lint", stage_lint),
    ("docs", stage_docs),
    ("changelog", stage_changelog),
    ("build", stage_build),
    ("importer", stage_importer),
    ("builder", stage_builder),
    ("py312", stage_py312),
    ("bench-smoke", stage_bench_smoke),
)
# The stages whose test runner takes `test --only STAGE -- ARGS` (ansible-test's or pytest's arguments).
PASSTHROUGH_STAGES = ("sanity", "units", "integration", "system", "eda")


# --------------------------------------------------------------------------- commands


def run_demo(venv: Venv, collections: Path, extra: Sequence[str]) -> int:
    """Run playbooks/demo.yml of the collection under ``collections`` against a fresh emulator."""
    collection = collections / "ansible_collections" / NAMESPACE / NAME
    playbook = collection / DEMO_PLAYBOOK
    if not playbook.is_file():
        raise StageSkipped(f"{DEMO_PLAYBOOK} does not exist yet in {collection}: nothing to demo")
    with temp_dir("demo") as work, Emulator(venv, work, ["--dialect", "dashboard", "--state-file", str(work / "emulator-state.json")]) as emulator:
        env = venv.env(collections)
        env.update(emulator_environment(emulator, work / "tokens" / "tokens.json"))
        return run([venv.bin("ansible-playbook"), DEMO_PLAYBOOK, *extra], cwd=collection, env=env, timeout=1800)


def installed_root(path: str) -> Path:
    """The collections root for ``--installed``: a dir holding ansible_collections/, or the collection dir itself."""
    given = Path(path).expanduser().resolve()
    if (given / "ansible_collections" / NAMESPACE / NAME).is_dir():
        return given
    if given.parts[-3:] == ("ansible_collections", NAMESPACE, NAME):
        return given.parents[2]
    raise HarnessError(f"{given} holds no ansible_collections/{NAMESPACE}/{NAME}")


def cmd_setup(args: argparse.Namespace) -> int:
    """``setup``: venv, shims, collection copy."""
    header("setup")
    setup(args.python, force=args.force)
    return 0


def parse_stage_list(value: str | None) -> list[str]:
    """``"ruff,sanity"`` -> names, validated against STAGES."""
    if not value:
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in dict(STAGES)]
    if unknown:
        raise HarnessError(f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(stage[0] for stage in STAGES)}")
    return names


def cmd_test(args: argparse.Namespace) -> int:
    """``test``: setup, then the stages, then a summary."""
    if args.list:
        for name, func in STAGES:
            say(f"{name:12} {(func.__doc__ or '').strip().splitlines()[0]}")
        return 0
    only, skip = parse_stage_list(args.only), parse_stage_list(args.skip)
    if args.extra and (len(only) != 1 or only[0] not in PASSTHROUGH_STAGES):
        raise HarnessError(f"unrecognized arguments {shlex.join(args.extra)}: extra arguments after -- need --only with one of {', '.join(PASSTHROUGH_STAGES)}")
    selected = [(n, f) for n, f in STAGES if (not only or n in only) and n not in skip]
    started = time.monotonic()
    header("setup")
    venv = setup()
    ctx = Context(venv, dialect=args.dialect, extra=tuple(args.extra))
    results = [run_stage(ctx, name, func, f"[{index}/{len(selected)}]") for index, (name, func) in enumerate(selected, 1)]
    return summary(results, time.monotonic() - started)


def run_stage(ctx: Context, name: str, func: Callable[[Context], str], position: str) -> tuple[str, str, float, str]:
    """Run one stage: its banner, its outcome line; (name, PASS/FAIL/SKIP, seconds, note)."""
    header(f"{position} {name}: {(func.__doc__ or '').strip().splitlines()[0]}")
    started = time.monotonic()
    try:
        result, detail = "PASS", func(ctx)
    except StageSkipped as ex:
        result, detail = "SKIP", str(ex)
    except HarnessError as ex:
        result, detail = "FAIL", str(ex).splitlines()[0]
        if "\n" in str(ex):
            say(str(ex))
    except Exception as ex:  # pylint: disable=broad-exception-caught  # a harness bug fails one stage, not the run
        traceback.print_exc()
        result, detail = "FAIL", f"harness error: {ex!r}"
    seconds = time.monotonic() - started
    suffix = f"  ({detail})" if detail else ""
    say(_style(f"-- {name}: {result} in {seconds:.1f} s{suffix}", RESULT_COLORS[result]))
    return name, result, seconds, detail


RESULT_COLORS = {"PASS": "32", "SKIP": "33", "FAIL": "31"}


def summary(results: list[tuple[str, str, float, str]], total: float) -> int:
    """Print the table and the closing count line; the exit code is 1 when a stage failed."""
    header("summary")
    say(f"{'stage':12} {'result':6} {'seconds':>8}  note")
    for name, result, seconds, detail in results:
        say(f"{name:12} {result:6} {seconds:8.1f}  {detail}".rstrip())
    count = {key: sum(1 for r in results if r[1] == key) for key in ("PASS", "FAIL", "SKIP")}
    say(f"{'total':12} {'':6} {total:8.1f}")
    say()
    say(f"stages: {count['PASS']} passed, {count['FAIL']} failed, {count['SKIP']} skipped")
    return 1 if count["FAIL"] else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``demo``: the demo playbook against a fresh emulator."""
    venv = setup()
    collections = installed_root(args.installed) if args.installed else COLLECTIONS_ROOT
    header(f"demo: {DEMO_PLAYBOOK} from {rel(collections)}")
    return run_demo(venv, collections, args.playbook_args)


def cmd_emulator(args: argparse.Namespace) -> int:
    """``emulator``: run it in the foreground; print export lines for a shell."""
    venv = ensure_venv()
    with temp_dir("emulator") as work, Emulator(venv, work, args.extra) as emulator:
        say("# Paste into another shell to point the modules at this emulator:")
        for name, value in emulator_environment(emulator, work / "tokens.json").items():
            say(f"export {name}={shlex.quote(value)}")
        say(f"# admin: {emulator.start_line.get('admin_url')}   stop with Ctrl-C; the emulator's log follows")
        with contextlib.suppress(KeyboardInterrupt), emulator.log.open("rb") as log:
            while emulator.proc is not None and emulator.proc.poll() is None:
                chunk = log.read()
                if chunk:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
                time.sleep(0.5)
            sys.stdout.buffer.write(log.read())
        if emulator.proc is not None and emulator.proc.returncode not in (None, 0):
            return emulator.proc.returncode
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``bench``: tests/benchmark/run.py in the venv."""
    if not (REPO / BENCHMARK).is_file():
        say(f"{BENCHMARK} does not exist yet.")
        return 1
    venv = setup()
    return run([venv.python, BENCHMARK, *args.extra], cwd=REPO, env=venv.env(COLLECTIONS_ROOT), timeout=24 * 3600)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python3 tools/dev.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_setup = sub.add_parser("setup", help="create/update the venv, the pip shims and the collection copy")
    p_setup.add_argument("--python", metavar="PATH", help="interpreter for a matrix venv .venv-pyX.Y (newest ansible-core)")
    p_setup.add_argument("--force", action="store_true", help="recreate the venv and reinstall")
    p_setup.set_defaults(func=cmd_setup)

    p_test = sub.add_parser("test", help="setup, then run the test stages and print a summary",
                            epilog=f"--only STAGE -- ARGS: ARGS go to that stage's ansible-test or pytest ({', '.join(PASSTHROUGH_STAGES)}), "
                                   "e.g. --only system -- -k token")
    p_test.add_argument("--only", metavar="STAGES", help="comma-separated stages to run")
    p_test.add_argument("--skip", metavar="STAGES", help="comma-separated stages to leave out")
    p_test.add_argument("--list", action="store_true", help="list the stages and exit")
    p_test.add_argument("--dialect", choices=DIALECTS,
                        help="run the emulator-backed stages (integration, py312, system) against this dialect only")
    p_test.set_defaults(func=cmd_test, passthrough=True)  # `--only STAGE -- ARGS`, checked in cmd_test

    p_demo = sub.add_parser("demo", help="run playbooks/demo.yml against a fresh emulator")
    p_demo.add_argument("--installed", metavar="PATH", help="use the collection installed under PATH instead of the working tree")
    p_demo.add_argument("playbook_args", nargs="*", metavar="-- ARGS", help="extra ansible-playbook arguments after --")
    p_demo.set_defaults(func=cmd_demo)

    # Both pass every argument they do not know on (``emulator --devices 500``).
    p_emu = sub.add_parser("emulator", help="run the emulator in the foreground and print export lines; other arguments go to run_emulator.py")
    p_emu.set_defaults(func=cmd_emulator, passthrough=True)

    p_bench = sub.add_parser("bench", help="run tests/benchmark/run.py in the venv; other arguments go to run.py")
    p_bench.set_defaults(func=cmd_bench, passthrough=True)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; ``emulator``, ``bench`` and ``test`` get the arguments the harness does not know as ``extra``."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra[1:] if extra[:1] == ["--"] else extra
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, dispatch, turn harness errors into one message and exit code 2."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    args = parse_args(argv)
    try:
        return args.func(args)
    except StageSkipped as ex:
        say(f"dev.py: {ex}")
        return 1
    except HarnessError as ex:
        say(f"dev.py: {ex}")
        return 2
    except KeyboardInterrupt:
        say("dev.py: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
