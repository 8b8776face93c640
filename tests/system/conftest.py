# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the system tests (issue 7): emulators, raw servers and Ansible runs of a test's own.

Everything a test starts is stopped in its teardown, whatever happened: emulator
processes (SIGTERM, then SIGKILL of their process group), raw servers, and every
ansible-playbook run (killed with its process group when it outlives its timeout).
Each test has its own tmp directory with its own token store.

Emulators speak the dashboard dialect (the APIs as the vendor's dashboard shows them).
A test marked ``both_dialects`` runs once per dialect, the legacy one too: those are the
tests whose outcome depends on how the API answers (the scenario, check mode, faults,
tokens). ``CTCLOUD_EMULATOR_DIALECTS`` (``CTCLOUD_EMULATOR_DIALECTS=legacy nox -s system``) narrows the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ctsystem.ansible_run import Ansible
from ctsystem.collection import collection_root, collections_paths, present_modules
from ctsystem.dialects import DIALECTS
from ctsystem.emulator import Emulator, emulators
from ctsystem.rawhttp import Behaviour, RawHttpServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_dialects: run the test against each emulator dialect, not only the dashboard one")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_dialects") and "emulator_dialect" in metafunc.fixturenames:
        metafunc.parametrize("emulator_dialect", DIALECTS, indirect=True)


@pytest.fixture
def emulator_dialect(request: pytest.FixtureRequest) -> str:
    """The dialect this test's emulators speak: the parameter of a ``both_dialects`` test, else the first of DIALECTS."""
    return getattr(request, "param", DIALECTS[0])


def pytest_report_header(config: pytest.Config) -> list[str]:
    del config
    root = collection_root()
    present = [name for name, exists in present_modules().items() if exists]
    return [f"ctcloud.cloud under test: {root}", f"modules present: {', '.join(present)}", f"emulator dialects: {', '.join(DIALECTS)}"]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    del session, config, items
    if collection_root() is None:
        raise pytest.UsageError(
            "tests/system runs ansible-playbook against the ctcloud.cloud collection found through ANSIBLE_COLLECTIONS_PATH "
            f"(now {collections_paths() or 'unset'}); run `python3 tools/bootstrap.py -s system`, or set it to a directory "
            "holding ansible_collections/ctcloud/cloud"
        )


@pytest.fixture
def start_emulator(tmp_path: Path, emulator_dialect: str) -> Iterator[Callable[..., Emulator]]:
    """``start_emulator(**knobs)`` -> a running emulator of this test (of ``emulator_dialect`` unless ``dialect`` is given);
    all are stopped at teardown."""
    with emulators(tmp_path, dialect=emulator_dialect) as start:
        yield start


@pytest.fixture
def emulator(start_emulator: Callable[..., Emulator]) -> Emulator:
    """A fresh emulator with the suite's small seed (6 locations, 8 boxes, 12 devices) and no faults."""
    return start_emulator()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawHttpServer]]:
    """``raw_server(behaviour, tls=None)`` -> a started RawHttpServer; all are closed at teardown."""
    servers: list[RawHttpServer] = []

    def start(behaviour: Behaviour, tls: Any = None) -> RawHttpServer:
        server = RawHttpServer(behaviour, tls)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def ansible(tmp_path: Path) -> Ansible:
    return Ansible(tmp_path / "ansible")


@pytest.fixture
def token_store(tmp_path: Path) -> Path:
    """This test's token store; its directory does not exist yet, so the collection creates it (0700)."""
    return tmp_path / "private" / "tokens.json"


def connection_vars(emulator: Emulator, token_store: Path, **extra: Any) -> dict[str, Any]:
    """Extra vars of every scenario playbook: connections for module_defaults, the admin URL, which modules exist."""
    return {
        "ct_conn": emulator.ct_connection(token_store),
        "cthings_conn": emulator.cthings_connection(token_store),
        "admin_url": emulator.admin_url,
        "have": present_modules(),
        **extra,
    }


@pytest.fixture
def scenario_vars() -> Callable[..., dict[str, Any]]:
    return connection_vars
