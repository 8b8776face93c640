# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the client's unit tests: a scripted server and real worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import ct, errors, transport
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import resource
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import FakeServer

# The directory holding ``ansible_collections``: worker processes import the collection from it.
COLLECTIONS_ROOT = str(Path(os.path.abspath(errors.__file__)).parents[6])


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture
def strict_fake():
    with FakeServer(rotation="strict") as server:
        yield server


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """Backoff sleeps make no assertion stronger; Retry-After (honoured separately) still applies."""
    monkeypatch.setattr(transport, "BACKOFF_FACTOR", 0.0)
    monkeypatch.setattr(transport, "BACKOFF_JITTER", 0.0)
    monkeypatch.setattr(resource, "CONVERGE_PAUSE", 0)  # between attempts of a create or reboot that is never resent
    monkeypatch.setattr(ct, "REFRESH_PAUSE", 0)  # between attempts of a refresh whose outcome is unknown


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "cache" / "ctcloud" / "tokens.json")


WORKER = r"""
import json, os, sys, time
config = json.loads(sys.argv[1])
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import CthingsClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError
if config.get("kill_before_store"):
    import signal
    from ansible_collections.ctcloud.cloud.plugins.module_utils._api import token_store
    def die(self, entries):
        os.kill(os.getpid(), signal.SIGKILL)
    token_store.TokenStore._write = die
go = config.get("go_file")
if go:
    open("%s.ready.%d" % (go, os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
try:
    if config["cloud"] == "ct":
        client = CtClient.build(api_url=config["ct_api_url"], auth_url=config["ct_auth_url"], client_id=config["client_id"],
                                client_secret=config["client_secret"], refresh_token=config.get("refresh_token"),
                                token_store=config["store"], token_store_key=config.get("key"), timeout=10)
        result = client.request("GET", "ping.json")
    else:
        client = CthingsClient.build(api_url=config["cthings_api_url"], auth_url=config["cthings_auth_url"], client_id=config["client_id"],
                                     client_secret=config["client_secret"], token_store=config["store"], timeout=10)
        result = client.call("device", device_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    print(json.dumps({"ok": True, "result": result}))
except CtCloudError as exc:
    print(json.dumps({"ok": False, "error": str(exc)}))
    sys.exit(3)
"""


def start_workers(count, config, go_file=None):
    """Start ``count`` worker processes; with ``go_file`` they all wait for it, then race."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
    payload = json.dumps(dict(config, go_file=go_file))
    return [
        subprocess.Popen([sys.executable, "-c", WORKER, payload], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _worker in range(count)
    ]


def finish_workers(processes, timeout=60):
    results = []
    deadline = time.monotonic() + timeout
    for process in processes:
        out, err = process.communicate(timeout=max(1, deadline - time.monotonic()))
        results.append((process.returncode, out, err))
    return results


def run_workers(count, config, race=True, tmp_dir=None):
    go_file = os.path.join(tmp_dir, "go") if race and tmp_dir else None
    processes = start_workers(count, config, go_file)
    if go_file:
        # Release them together once every interpreter has imported the client and is waiting.
        deadline = time.monotonic() + 60
        while len(list(Path(tmp_dir).glob("go.ready.*"))) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        Path(go_file).touch()
    return finish_workers(processes)
