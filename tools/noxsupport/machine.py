# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the machine must have for the sessions: interpreters, ansible-test's pip bootstrap, Debian packages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from .collection import REPO

PYBIN = REPO / ".build" / "pybin"
IS_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def link_pythons(versions: tuple[str, ...]) -> Path:
    """Put ``pythonX.Y`` links to pyenv's real interpreters in .build/pybin, for PATH.

    nox and ansible-test look interpreters up on PATH by name, where pyenv's shims of installed
    but inactive versions fail. Versions pyenv does not have are left to PATH.
    """
    PYBIN.mkdir(parents=True, exist_ok=True)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in versions:
        found = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])])
        link = PYBIN / f"python{version}"
        if found and not (link.is_symlink() and os.readlink(link) == str(found[-1])):
            link.unlink(missing_ok=True)
            link.symlink_to(found[-1])
    return PYBIN


# ansible-test --venv bootstraps pip into every venv it makes with get-pip.py, downloaded from a host
# these machines cannot reach, unless ~/.ansible/test/cache/get_pip_<pip version>.py exists. The
# versions: ansible-core 2.19 bootstraps pip 24.2, 2.21 pip 25.2, and the installed ansible-test says
# which it wants in ansible_test/_internal/python_requirements.py (read in pip_versions(), so the
# newest ansible-core of the py312 session keeps working when it moves on).
PIP_VERSIONS = ("24.2", "25.2")
SHIM_MARKER = "ctcloud.cloud offline get-pip shim"
SHIM = f'''"""{SHIM_MARKER}: ansible-test runs this instead of downloading get-pip.py.

ensurepip runs in a subprocess: in-process it disables pip's configuration, and with it the
machine's index and CA settings. --no-setuptools/--no-wheel are for get-pip.py only.
"""
import subprocess
import sys

ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
sys.exit(subprocess.run([sys.executable, "-m", "pip", "install"] + ARGS, check=False).returncode)
'''


def pip_versions(venv: Path | None = None) -> list[str]:
    """The pip versions whose get-pip script ansible-test looks for: the known ones and the one ``venv``'s ansible-test names."""
    versions = set(PIP_VERSIONS)
    for source in (venv.glob("lib/python*/site-packages/ansible_test/_internal/python_requirements.py") if venv else ()):
        versions.update(re.findall(r"default_packages = dict\(\s*pip='([\d.]+)'", source.read_text(encoding="utf-8")))
    return sorted(versions)


def write_pip_shims(venv: Path | None = None) -> None:
    """Write the get-pip stand-ins; a real get-pip.py cached under one of the names is left alone."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in pip_versions(venv):
        shim = cache / f"get_pip_{version.replace('.', '_')}.py"
        if not shim.exists() or SHIM_MARKER in shim.read_text(encoding="utf-8", errors="replace"):
            shim.write_text(SHIM, encoding="utf-8")


def apt_install(present: Callable[[], object], packages: tuple[str, ...]) -> bool:
    """Whether ``present()`` holds, after apt-get installed the first of ``packages`` that makes it (as root only)."""
    if present():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, stdin=subprocess.DEVNULL)
    for package in packages:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env, check=False, stdin=subprocess.DEVNULL)
        if present():
            return True
    return False


def java_major() -> int:
    """The major version of ``java`` on PATH (17 from ``openjdk version "17.0.15"``), 0 without one."""
    if not shutil.which("java"):
        return 0
    done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    match = re.search(r'version "(?:1\.)?(\d+)', done.stderr + done.stdout)
    return int(match.group(1)) if match else 0
