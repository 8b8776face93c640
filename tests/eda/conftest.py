# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end tests of the event-driven part: the real ansible-rulebook (and its JVM) with the collection's
sources, rulebook and playbook, against an emulator process of the test's own.

Run by the ``eda`` nox session in a venv of tests/requirements-eda.txt, with
``ANSIBLE_COLLECTIONS_PATH`` at the collection copy. Every process a test starts is
stopped, with its process group, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rulebook_testing import Emulator, Rulebook, collection_root, collections_paths, emulators


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    del session, config, items
    if collection_root() is None:
        raise pytest.UsageError(
            "tests/eda runs ansible-rulebook against the ctcloud.cloud collection found through ANSIBLE_COLLECTIONS_PATH "
            f"(now {collections_paths() or 'unset'}); run `python3 tools/bootstrap.py -s eda`"
        )


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    with emulators(tmp_path) as start:
        yield start


@pytest.fixture
def start_rulebook(tmp_path: Path) -> Iterator[Callable[..., Rulebook]]:
    started: list[Rulebook] = []

    def start(arguments: list[str], env: dict[str, str]) -> Rulebook:
        rulebook = Rulebook(tmp_path, arguments, env)
        started.append(rulebook)
        return rulebook.start()

    yield start
    for rulebook in started:
        rulebook.stop()
