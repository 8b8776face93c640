"""Fixtures of the emulator tests: a real server on 127.0.0.1, spoken to over HTTP with `requests`.

One in-process emulator serves the whole session; the `emu` fixture resets its
data, counters, tokens and knobs before every test, so tests are independent.
Tests that need a process of their own (start line, signals, state file) use
`spawn_emulator`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

# ansible-test imports these tests as a package and does not put their directory on
# sys.path, plain pytest does: make the shared helpers importable under both.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emulator_testing import (  # pylint: disable=wrong-import-position
    DASHBOARD,
    RUN_EMULATOR,
    TEST_KNOBS,
    TEST_SEED,
    Emulator,
    EmulatorClient,
    start_test_emulator,
)


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[Emulator]:
    emulator = start_test_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def running_dashboard_emulator() -> Iterator[Emulator]:
    emulator = start_test_emulator(DASHBOARD)
    yield emulator
    emulator.stop()


def fresh_client(emulator: Emulator) -> EmulatorClient:
    """Seed data, zero counters, only the initial refresh token, test knobs; a client of that emulator."""
    resetter = requests.Session()
    admin_url = f"{emulator.base_url}/_admin"
    for path, body in (("reset", {"tokens": True, "seed": TEST_SEED.as_dict()}), ("config", TEST_KNOBS)):
        response = resetter.post(f"{admin_url}/{path}", json=body)
        assert response.ok, response.text
    resetter.close()
    return EmulatorClient(emulator.start_line())


@pytest.fixture
def emu(running_emulator: Emulator) -> Iterator[EmulatorClient]:
    """A freshly reset emulator of the legacy dialect (the one the tests of 0.1.0 were written for)."""
    client = fresh_client(running_emulator)
    yield client
    client.session.close()


@pytest.fixture
def dash(running_dashboard_emulator: Emulator) -> Iterator[EmulatorClient]:
    """A freshly reset emulator of the dashboard dialect."""
    client = fresh_client(running_dashboard_emulator)
    yield client
    client.session.close()


class SpawnedEmulator:
    """An emulator in its own process, started through the launcher like a user would."""

    def __init__(self, process: subprocess.Popen[str], start_line: dict[str, Any]) -> None:
        self.process = process
        self.line = start_line
        self.client = EmulatorClient(start_line)

    def terminate(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send the signal and wait for the exit code; a process that hangs is killed, then the test fails."""
        self.client.session.close()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def spawn_emulator() -> Iterator[Callable[..., SpawnedEmulator]]:
    """Start `run_emulator.py` with extra arguments; every process is stopped after the test."""
    spawned: list[SpawnedEmulator] = []

    def spawn(*arguments: str, cwd: str | None = None, command: list[str] | None = None, env: dict[str, str] | None = None) -> SpawnedEmulator:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped by the fixture
            command or [sys.executable, RUN_EMULATOR, "--port", "0", *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
        )
        assert process.stdout is not None
        first_line = process.stdout.readline()
        if not first_line:
            process.wait(timeout=10)
            raise AssertionError(f"emulator did not start: {process.stderr.read() if process.stderr else ''}")
        emulator = SpawnedEmulator(process, json.loads(first_line))
        spawned.append(emulator)
        return emulator

    yield spawn
    for emulator in spawned:
        if emulator.process.poll() is None:
            emulator.terminate()
        for stream in (emulator.process.stdout, emulator.process.stderr):
            if stream is not None:
                stream.close()
