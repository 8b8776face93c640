# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run nox on a fresh machine: ``python3 tools/bootstrap.py [NOX ARGS]``.

Makes .venv-nox with the nox of tests/requirements-nox.txt (again when that file changes), then
runs it on noxfile.py with your arguments: no arguments run every check, as CI does;
``-s demo`` the demo. Standard library only. With nox installed already, plain ``nox`` does the same.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-nox"
REQUIREMENTS = REPO / "tests" / "requirements-nox.txt"
INSTALLED = VENV / "requirements-nox.txt"  # what was installed, to notice a change


def main() -> None:
    """Create or update the venv, then become nox."""
    wanted = REQUIREMENTS.read_text(encoding="utf-8")
    if not INSTALLED.is_file() or INSTALLED.read_text(encoding="utf-8") != wanted:
        print(f"bootstrap: installing {REQUIREMENTS.relative_to(REPO)} into {VENV.relative_to(REPO)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                       check=True)
        INSTALLED.write_text(wanted, encoding="utf-8")
    nox = str(VENV / "bin" / "nox")
    os.execv(nox, [nox, "--noxfile", str(REPO / "noxfile.py"), *sys.argv[1:]])


if __name__ == "__main__":
    main()
