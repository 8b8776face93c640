# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulator process of a test's own: started like a user starts it, spoken to through /_admin, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ctsystem.collection import RUN_EMULATOR

START_TIMEOUT = 30.0
ADMIN_TIMEOUT = 30.0

# Small seeds and short delays: the suite measures behaviour, not the emulator. The dialect is the fixture's
# (conftest.py, emulator_dialect).
DEFAULT_OPTIONS: dict[str, Any] = {
    "locations": 6,
    "boxes": 8,
    "devices": 12,
    "seed": 7,
    "reboot_delay": 0.2,
    "voucher_delay": 0.2,
    "retry_after": 0,
}


class EmulatorError(Exception):
    pass


class Emulator:
    """One ``run_emulator.py --port 0`` process in its own session (so it and anything it starts can be killed)."""

    def __init__(self, workdir: Path, *, python: str = sys.executable, defaults: dict[str, Any] | None = None, args: tuple[str, ...] = (),
                 **options: Any) -> None:
        """``options`` become ``--name value`` over ``defaults`` (the suite's small seeds); ``args`` are passed as they are.

        The nox sessions (tools/noxsupport/emulator.py) start theirs with ``defaults={}``, the emulator's own seed,
        and the Python of their venv.
        """
        self.workdir = workdir
        self.python = python
        self.args = args
        self.options = {**(DEFAULT_OPTIONS if defaults is None else defaults), **options}
        self.ready_file = workdir / "emulator.ready.json"
        self.log_path = workdir / "emulator.log"
        self.state_file: Path | None = Path(self.options.pop("state_file")) if self.options.get("state_file") else None
        self.process: subprocess.Popen[bytes] | None = None
        self.line: dict[str, Any] = {}

    # ---- process ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        command = [self.python, str(RUN_EMULATOR), "--port", "0", "--ready-file", str(self.ready_file)]
        for name, value in self.options.items():
            if isinstance(value, bool):  # a switch: --name when true, nothing when false
                command += [f"--{name.replace('_', '-')}"] if value else []
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(str(item) for item in value)
            command += [f"--{name.replace('_', '-')}", str(value)]
        if self.state_file is not None:
            command += ["--state-file", str(self.state_file)]
        return command + list(self.args)

    def start(self) -> Emulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped by stop()
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready_file.is_file():
                with contextlib.suppress(ValueError):
                    self.line = json.loads(self.ready_file.read_text(encoding="utf-8"))
                    return self
            if self.process.poll() is not None:
                raise EmulatorError(f"the emulator exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.stop()
        raise EmulatorError(f"the emulator wrote no start line within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM (the emulator saves its state file and exits), SIGKILL after 10 s; never leaves a process behind."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.process = None

    def log(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        return ""

    # ---- what the start line announces -----------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.line["port"])

    @property
    def admin_url(self) -> str:
        return self.line["admin_url"]

    @property
    def ct(self) -> dict[str, str]:
        return self.line["ct"]

    @property
    def cthings(self) -> dict[str, str]:
        return self.line["cthings"]

    def ct_connection(self, token_store: Path | str, **overrides: Any) -> dict[str, Any]:
        """The CT connection options of every CT module, as module parameters."""
        options = {key: self.ct[key] for key in ("api_url", "auth_url", "client_id", "client_secret", "refresh_token")}
        options["token_store"] = str(token_store)
        options["timeout"] = 15
        options.update(overrides)
        return options

    def cthings_connection(self, token_store: Path | str, **overrides: Any) -> dict[str, Any]:
        options = {key: self.cthings[key] for key in ("api_url", "auth_url", "client_id", "client_secret")}
        options["token_store"] = str(token_store)
        options["timeout"] = 15
        options.update(overrides)
        return options

    def environment(self, token_store: Path | str) -> dict[str, str]:
        """The same connection as the environment variables the modules and inventory plugins fall back to."""
        return {
            "CT_API_URL": self.ct["api_url"],
            "CT_AUTH_URL": self.ct["auth_url"],
            "CT_CLIENT_ID": self.ct["client_id"],
            "CT_CLIENT_SECRET": self.ct["client_secret"],
            "CT_REFRESH_TOKEN": self.ct["refresh_token"],
            "CTHINGS_API_URL": self.cthings["api_url"],
            "CTHINGS_AUTH_URL": self.cthings["auth_url"],
            "CTHINGS_CLIENT_ID": self.cthings["client_id"],
            "CTHINGS_CLIENT_SECRET": self.cthings["client_secret"],
            "CTCLOUD_TOKEN_STORE": str(token_store),
        }

    # ---- /_admin ---------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.admin_url}/{path}", data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise EmulatorError(f"{method} /_admin/{path} answered {error.code}: {error.read()[:300]!r}") from None

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def state(self, devices: bool = False) -> dict[str, Any]:
        return self.admin("GET", "state" if devices else "state?without=devices")

    def configure(self, **knobs: Any) -> dict[str, Any]:
        return self.admin("POST", "config", knobs)

    def reset(self, **options: Any) -> dict[str, Any]:
        return self.admin("POST", "reset", options)

    def revoke(self) -> int:
        return self.admin("POST", "ct/revoke", {})["revoked"]

    def authorization_code(self, **extra: str) -> str:
        """Do the one browser step: follow the authorize URL and take the code from the redirect."""
        query = urllib.parse.urlencode({"client_id": self.ct["client_id"], "response_type": "code", "redirect_uri": self.ct["redirect_uri"],
                                        **extra})
        landed = self.landed_url(f"{self.ct['auth_url']}/oauth/authorize?{query}")
        return urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["code"][0]

    def landed_url(self, authorize_url: str) -> str:
        """The browser step for an authorize URL (ct_auth's): the URL CT redirects the browser to, with the code."""
        request = urllib.request.Request(authorize_url, method="GET")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(request, timeout=ADMIN_TIMEOUT)
        except urllib.error.HTTPError as error:
            location = error.headers.get("Location", "")
            if error.code in (301, 302, 303, 307) and urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code"):
                return location
            raise EmulatorError(f"authorize answered {error.code} without a code: {location!r}") from None
        raise EmulatorError("authorize did not redirect")

    def fresh_refresh_token(self) -> str:
        """A refresh token of a new chain (the browser step plus the code exchange), for a second, independent token store."""
        form = {"grant_type": "authorization_code", "code": self.authorization_code(), "redirect_uri": self.ct["redirect_uri"],
                "client_id": self.ct["client_id"], "client_secret": self.ct["client_secret"]}
        request = urllib.request.Request(f"{self.ct['auth_url']}/oauth/token", data=urllib.parse.urlencode(form).encode("ascii"), method="POST")
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))["refresh_token"]


@contextlib.contextmanager
def emulators(workdir: Path, **defaults: Any) -> Iterator[Callable[..., Emulator]]:
    """``start(**options)`` -> a running emulator in ``workdir/emulator-N`` (``options`` over ``defaults``).

    Every one started is stopped on the way out, whatever happened, and must have left no process behind.
    """
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        emulator = Emulator(workdir / f"emulator-{len(started) + 1}", **{**defaults, **options})
        started.append(emulator)
        return emulator.start()

    try:
        yield start
    finally:
        for emulator in started:
            emulator.stop()
    for emulator in started:
        assert emulator.process is None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # urllib's signature
        return None
