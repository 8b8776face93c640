# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API emulator for one session: started fresh on a free loopback port, always stopped.

When ready it prints one JSON line, its start line (docs/api-contract.md, "The emulator"), with
the URLs and credentials of both clouds; ``environment()`` and ``write_integration_config()``
turn it into what the modules and the integration targets read.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

SCRIPT = Path("tests") / "emulator" / "run_emulator.py"
# integration_config.yml variable -> key path in the start line.
CONFIG = {
    "ct_api_url": ("ct", "api_url"),
    "ct_auth_url": ("ct", "auth_url"),
    "ct_client_id": ("ct", "client_id"),
    "ct_client_secret": ("ct", "client_secret"),
    "ct_refresh_token": ("ct", "refresh_token"),
    "ct_redirect_uri": ("ct", "redirect_uri"),
    "cthings_api_url": ("cthings", "api_url"),
    "cthings_auth_url": ("cthings", "auth_url"),
    "cthings_client_id": ("cthings", "client_id"),
    "cthings_client_secret": ("cthings", "client_secret"),
    "emulator_admin_url": ("admin_url",),
    "emulator_dialect": ("dialect",),
}
# The environment variables the modules read (CT_API_URL, ...): the connection values, upper-cased.
ENVIRONMENT = {name.upper(): keys for name, keys in CONFIG.items() if keys[0] in ("ct", "cthings") and keys[-1] != "redirect_uri"}


class Emulator:
    """A running emulator: its start line, its log."""

    def __init__(self, start_line: dict, log: Path, proc: subprocess.Popen) -> None:
        self.start_line = start_line
        self.log = log
        self.proc = proc

    def value(self, keys: Sequence[str]) -> str:
        """A start-line value by key path, e.g. ``("ct", "api_url")``."""
        node = self.start_line
        for key in keys:
            node = node[key]
        return str(node)

    def follow_log(self) -> None:
        """Copy the log to stdout as it grows, until the emulator exits."""
        with self.log.open("rb") as log:
            while self.proc.poll() is None:
                sys.stdout.buffer.write(log.read())
                sys.stdout.flush()
                time.sleep(0.5)
            sys.stdout.buffer.write(log.read())

    def environment(self, token_store: Path) -> dict[str, str]:
        """CT_* / CTHINGS_* for the modules and inventory plugins, and a token store of this run's own."""
        return {name: self.value(keys) for name, keys in ENVIRONMENT.items()} | {"CTCLOUD_TOKEN_STORE": str(token_store)}

    def write_integration_config(self, path: Path, token_store: Path) -> None:
        """The variables the integration targets get (ansible-test passes the file as ``-e @file``)."""
        values = {name: self.value(keys) for name, keys in CONFIG.items()} | {"ctcloud_token_store": str(token_store)}
        lines = ["# Written by the integration session for one run against a fresh emulator; do not edit or commit."]
        path.write_text("\n".join(lines + [f"{name}: {json.dumps(value)}" for name, value in values.items()]) + "\n", encoding="utf-8")


@contextlib.contextmanager
def running(python: str, workdir: Path, args: Sequence[str] = (), cwd: Path = Path()) -> Iterator[Emulator]:
    """Start ``tests/emulator/run_emulator.py`` with ``python`` (which has werkzeug), wait for its start line, stop it after.

    It runs in a process group of its own, which is killed on the way out, whatever happened.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ready, log = workdir / "emulator-ready.json", workdir / "emulator.log"
    cmd = [python, str(cwd / SCRIPT), "--port", "0", "--ready-file", str(ready), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not ready.is_file() or not ready.read_text(encoding="utf-8").strip().endswith("}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start (exit {proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        emulator = Emulator(json.loads(ready.read_text(encoding="utf-8")), log, proc)
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never through a proxy
        with no_proxy.open(emulator.value(["admin_url"]) + "/health", timeout=10) as health:
            if health.status != 200:
                raise RuntimeError(f"the emulator's /health answered {health.status}")
        try:
            yield emulator
        except BaseException:
            print(f"-- the last lines of the emulator's log ({log}):\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
            raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
