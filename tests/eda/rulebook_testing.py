# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the end-to-end tests of the event-driven part share: an ansible-rulebook process, bounded waits, a clean environment.

Kept out of conftest.py so that test modules import it by a name no other test directory uses.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SYSTEM = Path(__file__).resolve().parent.parent / "system"
sys.path.insert(0, str(SYSTEM))  # the emulator process and certificate helpers of the system tests

# Re-exported for conftest.py and the tests, which import them from here, after the path above is set.
from ctsystem.collection import collection_root, collections_paths  # noqa: E402,F401  # pylint: disable=wrong-import-position,unused-import
from ctsystem.emulator import Emulator, emulators  # noqa: E402,F401  # pylint: disable=wrong-import-position,unused-import
from ctsystem.rawhttp import self_signed_certificate  # noqa: E402,F401  # pylint: disable=wrong-import-position,unused-import

EDA_DIR = Path(__file__).resolve().parent
BOUND = 300.0  # the longest any wait here may take; each is expected to end in seconds
SCRUBBED_PREFIXES = ("CT_", "CTHINGS_", "CTCLOUD_", "ANSIBLE_")


def wait_for(what: str, check: Callable[[], Any], bound: float = BOUND, pause: float = 0.1, process: Rulebook | None = None) -> Any:
    """``check()`` until it is truthy; fails naming ``what`` (and showing the rulebook's output) past ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process is not None and process.exited():
            raise AssertionError(f"ansible-rulebook exited with {process.process.returncode} while waiting for {what}:\n{process.tail()}")
        time.sleep(pause)
    raise AssertionError(f"gave up waiting for {what} after {bound:.0f} s" + (f":\n{process.tail()}" if process else ""))


class Rulebook:
    """One ``ansible-rulebook`` process in its own session, its output in a file."""

    def __init__(self, workdir: Path, arguments: list[str], env: dict[str, str]) -> None:
        self.output_path = workdir / "ansible-rulebook.log"
        self.arguments = arguments
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Rulebook:
        executable = Path(sys.executable).parent / "ansible-rulebook"
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped by stop()
                [str(executable), *self.arguments], cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def output(self) -> str:
        with contextlib.suppress(OSError):
            return self.output_path.read_text(encoding="utf-8", errors="replace")
        return ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.output()))

    def stop(self) -> None:
        """SIGINT (ansible-rulebook's Ctrl-C), then SIGKILL of the whole group if it lingers."""
        process = self.process
        if process is None:
            return
        for signum, grace in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything it started and left behind
        self.process = None


def clean_environment(tmp_path: Path) -> dict[str, str]:
    """The test's environment without the developer's cloud or Ansible settings, Ansible's files under tmp."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(SCRUBBED_PREFIXES)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(collections_paths())
    env["ANSIBLE_HOME"] = str(tmp_path / "ansible-home")
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env
