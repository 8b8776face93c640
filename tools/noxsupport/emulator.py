# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API emulator for one session: the system suite's ``Emulator`` (tests/system/ctsystem/emulator.py),
started fresh on a free loopback port with the emulator's own seed, always stopped.

Its start line (docs/api-contract.md, "The emulator") carries the URLs and credentials of both clouds;
``Emulator.environment()`` turns them into the CT_* / CTHINGS_* variables the modules read, and
``write_integration_config()`` into the variables the integration targets get.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .collection import REPO

sys.path.insert(0, str(REPO / "tests" / "system"))
from ctsystem.emulator import Emulator  # pylint: disable=wrong-import-position  # needs the path above

# integration_config.yml variable -> key path in the start line (DEVELOPERS.md lists them).
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


@contextlib.contextmanager
def running(python: str, workdir: Path, args: Sequence[str] = ()) -> Iterator[Emulator]:
    """An emulator run with ``python`` (a venv with werkzeug) and ``args`` (``--dialect legacy``); its log's end is shown when the block fails."""
    emulator = Emulator(workdir, python=python, defaults={}, args=tuple(args)).start()
    try:
        yield emulator
    except BaseException:
        print(f"-- the end of the emulator's log ({emulator.log_path}):\n{emulator.log(20)}", flush=True)
        raise
    finally:
        emulator.stop()


def write_integration_config(emulator: Emulator, path: Path, token_store: Path) -> None:
    """The variables every integration target gets (ansible-test passes the file as ``-e @file``)."""
    values = {}
    for name, keys in CONFIG.items():
        node = emulator.line
        for key in keys:
            node = node[key]
        values[name] = str(node)
    values["ctcloud_token_store"] = str(token_store)
    lines = ["# Written by the integration session for one run against a fresh emulator; do not edit or commit."]
    path.write_text("\n".join(lines + [f"{name}: {json.dumps(value)}" for name, value in values.items()]) + "\n", encoding="utf-8")


def follow_log(emulator: Emulator) -> None:
    """Copy the emulator's log to stdout as it grows, until the emulator exits."""
    with emulator.log_path.open("rb") as log:
        while emulator.process is not None and emulator.process.poll() is None:
            sys.stdout.buffer.write(log.read())
            sys.stdout.flush()
            time.sleep(0.5)
        sys.stdout.buffer.write(log.read())
