# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ``ansible-playbook`` / ``ansible-inventory`` subprocesses, with every task result captured.

Each run gets a clean environment: no CT_*/CTHINGS_*/CTCLOUD_* variables from the
developer's shell, ANSIBLE_HOME, temp directories and the default token-store
location (XDG_CACHE_HOME) under the test's own tmp, and the ``capture_results``
callback writing each task's full result as JSON. A run is bounded by a timeout and
killed with its whole process group when it overstays.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctsystem.collection import CALLBACK_PLUGINS

# What a fresh process must not inherit from the developer's shell.
SCRUBBED_PREFIXES = ("CT_", "CTHINGS_", "CTCLOUD_")
SCRUBBED = ("ANSIBLE_CONFIG", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_INVENTORY", "ANSIBLE_VAULT_PASSWORD_FILE",
            "ANSIBLE_PYTHON_INTERPRETER", "ANSIBLE_INVENTORY_ENABLED")
DEFAULT_TIMEOUT = 300.0


def executable(name: str) -> str:
    """An Ansible command of the interpreter running the tests (its venv), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is neither next to {sys.executable} nor on PATH")
    return found


@dataclass
class TaskResult:
    host: str
    task: str
    action: str
    status: str  # ok, failed, skipped, unreachable
    result: dict[str, Any]
    emulator_stats: dict[str, Any] | None = None  # when the run was given stats_url: the counters right after this task

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable")

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    def python_traceback(self) -> str | None:
        """A Python traceback or crash output anywhere in the result, else None.

        ansible-core 2.19 puts ``exception: "(traceback unavailable)"`` in every failed result that carries none;
        that placeholder is not a traceback.
        """
        for key in ("exception", "module_stderr", "module_stdout", "msg"):
            value = str(self.result.get(key) or "")
            if "Traceback (most recent call last)" in value or "MODULE FAILURE" in value:
                return f"{key}: {value}"
        if self.result.get("module_stderr"):
            return f"module_stderr: {self.result['module_stderr']}"
        return None


@dataclass
class AnsibleRun:
    command: list[str]
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    results: list[TaskResult] = field(default_factory=list)

    def tasks(self, name: str) -> list[TaskResult]:
        return [result for result in self.results if result.task == name]

    def one(self, name: str, host: str | None = None) -> TaskResult:
        found = [result for result in self.tasks(name) if host is None or result.host == host]
        if len(found) != 1:
            raise AssertionError(f"expected one result of task {name!r} (host {host}), got {len(found)}\n{self.describe()}")
        return found[0]

    def result(self, name: str, host: str | None = None) -> dict[str, Any]:
        return self.one(name, host).result

    def failures(self) -> list[TaskResult]:
        return [result for result in self.results if result.failed]

    def text(self) -> str:
        """Everything the run showed or returned: both streams and every task result."""
        captured = "\n".join(json.dumps(result.result, default=str) for result in self.results)
        return "\n".join((self.stdout, self.stderr, captured))

    def describe(self, limit: int = 6000) -> str:
        """For assertion messages: the command, rc, and the tails of both streams."""
        return f"$ {' '.join(self.command)}\nrc={self.rc} elapsed={self.elapsed:.1f}s\n--- stdout\n{self.stdout[-limit:]}\n--- stderr\n{self.stderr[-limit:]}"

    def check(self) -> AnsibleRun:
        assert self.rc == 0, self.describe()
        return self


class Ansible:
    """Runs Ansible commands for one test, in ``workdir``."""

    def __init__(self, workdir: Path, python: str | None = None) -> None:
        self.workdir = workdir
        self.python = python or sys.executable
        self.count = 0
        workdir.mkdir(parents=True, exist_ok=True)
        self.inventory_file = self.write_inventory(workdir / "localhost.yml", ["localhost"])

    def write_inventory(self, path: Path, hosts: list[str], group: str = "targets", **host_vars: Any) -> Path:
        """Local hosts (group ``targets``) that run modules with the interpreter that runs ansible-playbook."""
        group_vars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}", **host_vars}
        inventory = {group: {"hosts": dict.fromkeys(hosts), "vars": group_vars}}
        path.write_text(json.dumps(inventory, indent=1) + "\n", encoding="utf-8")  # JSON is YAML
        return path

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES) and key not in SCRUBBED}
        home = self.workdir / "ansible-home"
        env.update(
            ANSIBLE_HOME=str(home),
            ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
            ANSIBLE_REMOTE_TMP=str(home / "remote-tmp"),
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_PLUGINS),
            ANSIBLE_CALLBACKS_ENABLED="capture_results",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_PIPELINING="1",  # fewer processes per task; the local connection supports it
            ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
            ANSIBLE_HOST_PATTERN_MISMATCH="error",
            XDG_CACHE_HOME=str(self.workdir / "xdg-cache"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra or {})
        return env

    def playbook(
        self,
        playbook: Path | str,
        extra_vars: dict[str, Any] | None = None,
        inventory: Path | str | None = None,
        check: bool = False,
        diff: bool = False,
        verbosity: int = 0,
        forks: int | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        umask: int = -1,
        stats_url: str | None = None,
    ) -> AnsibleRun:
        self.count += 1
        results_path = self.workdir / f"results-{self.count}.jsonl"
        command = [executable("ansible-playbook"), "-i", str(inventory or self.inventory_file), str(playbook)]
        if extra_vars:
            vars_path = self.workdir / f"vars-{self.count}.json"
            vars_path.write_text(json.dumps(extra_vars), encoding="utf-8")
            vars_path.chmod(0o600)
            command += ["-e", f"@{vars_path}"]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if forks:
            command += ["--forks", str(forks)]
        command += args or []
        environment = self.environment(env)
        environment["CTCLOUD_SYSTEM_RESULTS"] = str(results_path)
        if stats_url:
            environment["CTCLOUD_SYSTEM_STATS_URL"] = stats_url
        run = run_command(command, environment, self.workdir, timeout, umask)
        run.results = read_results(results_path)
        return run

    def inventory(self, sources: list[Path | str], args: list[str] | None = None, env: dict[str, str] | None = None,
                  timeout: float = DEFAULT_TIMEOUT, verbosity: int = 0) -> AnsibleRun:
        command = [executable("ansible-inventory")]
        for source in sources:
            command += ["-i", str(source)]
        command += args or ["--list"]
        if verbosity:
            command.append("-" + "v" * verbosity)
        return run_command(command, self.environment(env), self.workdir, timeout)


def one_case_per_host_playbook(modules: list[str], name: str) -> list[dict[str, Any]]:
    """A play in which each host runs the module its ``case_module`` names with the arguments in ``case_args``.

    One task per module (a task may only name a module that exists); a host skips every task but its own. The cases run
    in parallel, up to ``forks`` at a time, and with the free strategy no host waits for another's task. Connection
    options come from ``ct_conn``/``cthings_conn`` via module_defaults; a case's own arguments override them.
    """
    tasks = [
        {"name": f"{name}: {module}", f"ctcloud.cloud.{module}": {}, "args": "{{ case_args }}", "when": f"case_module == '{module}'",
         "ignore_errors": True}
        for module in sorted(set(modules))
    ]
    return [{
        "name": name,
        "hosts": "targets",
        "strategy": "free",
        "gather_facts": False,
        "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn | default({}) }}", "group/ctcloud.cloud.cthings": "{{ cthings_conn | default({}) }}"},
        "tasks": tasks,
    }]


def write_case_inventory(path: Path, cases: dict[str, dict[str, Any]]) -> Path:
    """``{host: {"case_module": ..., "case_args": {...}}}`` as local hosts (JSON is YAML)."""
    inventory = {"targets": {"hosts": cases, "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}
    path.write_text(json.dumps(inventory, indent=1), encoding="utf-8")
    return path


def case_result(run: AnsibleRun, host: str) -> TaskResult:
    """The one task a case's host ran (the others were skipped)."""
    ran = [result for result in run.results if result.host == host and result.status != "skipped"]
    if len(ran) != 1:
        raise AssertionError(f"host {host} ran {len(ran)} tasks\n{run.describe()}")
    return ran[0]


def run_command(command: list[str], env: dict[str, str], cwd: Path, timeout: float, umask: int = -1) -> AnsibleRun:
    started = time.monotonic()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True, umask=umask,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            stdout, stderr = process.communicate(timeout=30)
            raise AssertionError(
                f"{' '.join(command)} did not finish within {timeout:.0f} s\n--- stdout\n{stdout.decode(errors='replace')[-4000:]}"
                f"\n--- stderr\n{stderr.decode(errors='replace')[-4000:]}"
            ) from None
        finally:
            kill_group(process.pid)  # module processes a killed or crashed run left behind
    return AnsibleRun(command, process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"),
                      time.monotonic() - started)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def read_results(path: Path) -> list[TaskResult]:
    if not path.is_file():
        return []
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        results.append(TaskResult(data["host"], data["task"], data["action"], data["status"], data["result"], data.get("emulator_stats")))
    return results
