# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plumbing of tests/benchmark/run.py: emulators it owns, ansible runs it times, counters it reads.

Nothing here decides what is measured; run.py does. Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EMULATOR = REPO / "tests" / "emulator" / "run_emulator.py"
CALLBACKS = HERE / "callback_plugins"

# Environment variables of the parent that would change what is measured: connection
# settings of the collection, and every ansible setting (the benchmark brings its own).
_DROPPED_PREFIXES = ("ANSIBLE_", "CT_", "CTHINGS_", "CTCLOUD_")


class BenchError(Exception):
    """A run that could not be measured (failed playbook, emulator that did not start); one sentence."""


# --------------------------------------------------------------------------- emulator


class Emulator:
    """One emulator process on 127.0.0.1 and a free port, stopped when the benchmark ends."""

    _live: list[Emulator] = []

    def __init__(self, name: str, work: Path, **flags: object) -> None:
        self.name = name
        argv = [sys.executable, str(EMULATOR), "--port", "0"]
        for flag, value in flags.items():
            argv += [f"--{flag.replace('_', '-')}", str(value)]
        self.log = work / f"emulator-{name}.log"
        with open(self.log, "wb") as log:
            # Its own session: the whole process group goes at exit, whatever happens here.
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        Emulator._live.append(self)
        line = self.process.stdout.readline() if self.process.stdout else b""
        if not line:
            self.stop()
            raise BenchError(f"the emulator did not start (flags {flags}); see {self.log}")
        self.start_line = json.loads(line)
        self.admin_url = self.start_line["admin_url"]

    # -- admin API (never counted in the emulator's statistics)

    def admin(self, path: str, body: object = None, method: str | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.admin_url + path, data=data, method=method or ("GET" if body is None else "POST"), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as reply:  # reseeding 50,000 devices takes a while
            return json.loads(reply.read())

    def reset(self, data: bool = True, counters: bool = True, tokens: bool = True, seed: dict | None = None) -> dict:
        body: dict[str, object] = {"data": data, "counters": counters, "tokens": tokens}
        if seed:
            body["seed"] = seed
        return self.admin("/reset", body)  # type: ignore[return-value]

    def stats(self) -> dict:
        return self.admin("/stats")  # type: ignore[return-value]

    def state(self, devices: bool = False) -> dict:
        return self.admin("/state" if devices else "/state?without=devices")  # type: ignore[return-value]

    def configure(self, **knobs: object) -> dict:
        return self.admin("/config", knobs)  # type: ignore[return-value]

    # -- what the collection is given

    def env(self) -> dict[str, str]:
        ct, cthings = self.start_line["ct"], self.start_line["cthings"]
        return {
            "CT_API_URL": ct["api_url"],
            "CT_AUTH_URL": ct["auth_url"],
            "CT_CLIENT_ID": ct["client_id"],
            "CT_CLIENT_SECRET": ct["client_secret"],
            "CT_REFRESH_TOKEN": ct["refresh_token"],
            "CTHINGS_API_URL": cthings["api_url"],
            "CTHINGS_AUTH_URL": cthings["auth_url"],
            "CTHINGS_CLIENT_ID": cthings["client_id"],
            "CTHINGS_CLIENT_SECRET": cthings["client_secret"],
        }

    def playbook_vars(self) -> dict[str, str]:
        """The same connection values as playbook variables (for the ansible.builtin.uri playbooks)."""
        return {name.lower(): value for name, value in self.env().items()}

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        if self in Emulator._live:
            Emulator._live.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for emulator in list(cls._live):
            emulator.stop()


atexit.register(Emulator.stop_all)


def _terminate(signum: int, frame: object) -> None:
    del frame
    raise SystemExit(128 + signum)  # unwinds through atexit, which stops the emulators


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


# --------------------------------------------------------------------------- counters


@dataclass
class Counts:
    """What one run cost the emulator (its counters are exact)."""

    requests: int
    token_requests: int
    writes: int
    by_route: dict[str, int]
    writes_by_kind: dict[str, dict[str, int]]

    @classmethod
    def from_stats(cls, stats: dict) -> Counts:
        tokens = stats["token_requests"]
        token_total = sum(tokens["ct"].values()) + sum(tokens["cthings"].values())
        return cls(stats["total"], token_total, stats["writes_total"], dict(stats["requests"]), stats["writes"])

    def as_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "token_requests": self.token_requests, "writes": self.writes, "by_route": self.by_route}


# --------------------------------------------------------------------------- ansible runs


@dataclass
class Run:
    """One timed ansible process."""

    seconds: float
    tasks: list[dict[str, object]] = field(default_factory=list)
    log: str = ""

    def task_seconds(self, prefix: str) -> float:
        """Sum of the wall times of the tasks whose name starts with ``prefix``."""
        return sum(float(task["seconds"]) for task in self.tasks if str(task["name"]).startswith(prefix))  # type: ignore[arg-type]


class Ansible:
    """Runs ansible-playbook / ansible-inventory of one installation against the collection under test."""

    def __init__(self, bin_dir: Path, collections_path: str, work: Path) -> None:
        self.bin_dir = bin_dir
        self.collections_path = collections_path
        self.work = work
        self.config = work / "ansible.cfg"
        self.config.write_text("[defaults]\n")  # nothing from the user's own configuration
        self._serial = 0

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith(_DROPPED_PREFIXES)}
        env.update(
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_COLLECTIONS_PATH=self.collections_path,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_RETRY_FILES_ENABLED="false",
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra or {})
        return env

    def fresh_token_store(self) -> str:
        """A path no run has used: the run starts without any stored token."""
        self._serial += 1
        directory = self.work / "tokens" / str(self._serial)
        directory.mkdir(parents=True)
        return str(directory / "tokens.json")

    def write_vars(self, name: str, data: dict) -> Path:
        path = self.work / "vars" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(data))
        return path

    def playbook(self, playbook: Path, var_files: list[Path], env: dict[str, str], label: str) -> Run:
        """Run a playbook once; its wall time and, from the bench_timer callback, each task's."""
        self._serial += 1
        log = self.work / "logs" / f"{self._serial:04d}-{label}.log"
        log.parent.mkdir(exist_ok=True)
        timings = log.with_suffix(".tasks.json")
        argv = [self.tool("ansible-playbook"), str(playbook)]
        for path in var_files:
            argv += ["-e", f"@{path}"]
        start = time.perf_counter()
        with open(log, "wb") as stream:
            code = subprocess.call(argv, stdout=stream, stderr=subprocess.STDOUT, env=self.env({**env, "BENCH_TIMINGS_FILE": str(timings)}), cwd=self.work)
        seconds = time.perf_counter() - start
        if code:
            raise BenchError(f"{playbook.name} ({label}) failed with exit code {code}:\n{tail(log)}")
        tasks = json.loads(timings.read_text())["tasks"] if timings.exists() else []
        return Run(seconds, tasks, str(log))


def tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------- numbers


def summary(values: list[float], digits: int = 3) -> dict[str, object]:
    """Median, min and max of repeated measurements (and the values, for the raw results)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
        "values": [round(value, digits) for value in values],
    }


def rotated(items: list, by: int) -> list:
    """The variants in a different order each repetition, so none always runs first (warm caches, noisy neighbours)."""
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None
