# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ctcloud.cloud.cthings_devices: main(queue, args) polling a scripted cThings server over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest
import yaml

from ansible_collections.ctcloud.cloud.plugins.doc_fragments import cthings as cthings_fragment
from ansible_collections.ctcloud.cloud.plugins.doc_fragments import token_store as token_store_fragment
from ansible_collections.ctcloud.cloud.plugins.module_utils._api import errors, transport
from ansible_collections.ctcloud.cloud.tests.unit.extensions.eda.plugins.event_source.conftest import documented_options, load_source
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import CTHINGS_CLIENT, FakeServer, Scripted, envelope

DEVICES = load_source("cthings_devices")
LIST = "/cthings-api/v3/device"
BOUND = 60.0  # no test waits longer than this for anything; none is expected to come near it
ENTITY = {"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "Northgate Estates"}
IDS = {
    "boiler": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "lobby": "1a2b3c4d-0000-4000-8000-000000000001",
    "roof": "1a2b3c4d-0000-4000-8000-000000000002",
}


def device(name: str, status: Any, last: str = "2026-12-06T10:00:00Z", signal: float = -80.5) -> dict[str, Any]:
    return {
        "id": IDS[name], "name": f"{name.title()} Sensor", "type": {"id": "t", "key": "temperature_sensor", "type": "Temperature Sensor"},
        "entity": ENTITY, "active": True, "connection": {"status": status, "lastConnected": last, "signalStrength": signal, "route": []},
    }


def page(*devices: dict[str, Any]) -> Scripted:
    return Scripted(200, envelope(list(devices), {"self": None, "first": None, "prev": None, "next": None, "last": None}))


FAULT = Scripted(500, envelope(None, code=500, message="Internal error"))


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(transport, "BACKOFF_FACTOR", 0.0)
    monkeypatch.setattr(transport, "BACKOFF_JITTER", 0.0)


@pytest.fixture
def log(source_log):
    return source_log("ctcloud.cloud.cthings_devices")


def connection(fake: FakeServer, tmp_path: Any, **args: Any) -> dict[str, Any]:
    return {"api_url": fake.urls["cthings_api_url"], "auth_url": fake.urls["cthings_auth_url"], "client_id": CTHINGS_CLIENT[0],
            "client_secret": CTHINGS_CLIENT[1], "token_store": str(tmp_path / "tokens.json"), "interval": 0.01, "max_backoff": 0.02,
            "timeout": 5, **args}


async def polls(fake: FakeServer, count: int) -> None:
    """Until the server has answered ``count`` device-list requests in all (bounded: each poll takes milliseconds)."""
    for _attempt in range(int(BOUND / 0.005)):
        if fake.state.count("GET", LIST) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {fake.state.count('GET', LIST)} polls, expected {count}")


async def run_source(fake: FakeServer, args: dict[str, Any], until_polls: int) -> list[dict[str, Any]]:
    """main() until the server has seen ``until_polls`` list requests, then cancelled; every event it emitted, in order.

    The events of one poll are on the queue before the next poll's first request is sent: wait for one request more
    than the last one whose answer matters.
    """
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(DEVICES["main"](queue, args))
    try:
        waiter = asyncio.create_task(polls(fake, until_polls))
        done, _pending = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()  # raises what main() raised
        waiter.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def run(scenario: Any) -> Any:
    return asyncio.run(asyncio.wait_for(scenario, BOUND))


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(event["cthings"]["type"], event["cthings"]["device_name"], event["cthings"]["initial"]) for event in events]


def test_transitions_are_emitted_once_and_api_faults_emit_nothing(fake, tmp_path, log):
    fake.state.script("GET", LIST,
                      page(device("boiler", True), device("lobby", False), device("roof", True)),  # baseline: nothing
                      page(device("boiler", False, last="2026-12-06T10:05:00Z", signal=-101.0), device("lobby", False), device("roof", True)),
                      FAULT, FAULT,  # no answer is no news: neither "online" nor "offline"
                      page(device("boiler", False), device("lobby", False), device("roof", True)),
                      page(device("boiler", True), device("lobby", True), device("roof", True)))  # repeats from here on
    events = run(run_source(fake, connection(fake, tmp_path), until_polls=9))
    assert summary(events) == [("offline", "Boiler Sensor", False), ("online", "Boiler Sensor", False), ("online", "Lobby Sensor", False)]
    assert events[0]["cthings"] == {
        "type": "offline", "device_id": IDS["boiler"], "device_name": "Boiler Sensor", "last_connected": "2026-12-06T10:05:00Z",
        "signal_strength": -101.0, "entity_id": ENTITY["id"], "entity_name": ENTITY["name"], "device_type": "temperature_sensor",
        "initial": False,
    }
    assert fake.state.token_requests["client_credentials"] == 1  # one token for every poll
    failures = [line for line in log.lines if "poll failed" in line]
    assert len(failures) == 2 and "Internal error" in failures[0]
    assert any("answers again after 2 failed poll(s)" in line for line in log.lines)


def test_the_offline_set_at_start_is_reported_once_when_asked(fake, tmp_path):
    fake.state.script("GET", LIST, page(device("boiler", False), device("lobby", False), device("roof", True)))
    events = run(run_source(fake, connection(fake, tmp_path, report_offline_at_start="true"), until_polls=4))
    assert summary(events) == [("offline", "Boiler Sensor", True), ("offline", "Lobby Sensor", True)]


def test_devices_without_a_status_new_or_gone_emit_nothing(fake, tmp_path):
    fake.state.script("GET", LIST,
                      page(device("boiler", True), device("lobby", True)),
                      page(device("boiler", None), device("roof", False)),  # boiler unknown, lobby gone, roof new (and offline)
                      page(device("boiler", True), device("lobby", False), device("roof", False)))  # lobby is back: new again
    events = run(run_source(fake, connection(fake, tmp_path, report_offline_at_start=True), until_polls=5))
    assert events == []


def test_pages_are_followed_and_only_documented_parameters_are_sent(fake, tmp_path, monkeypatch):
    sent: list[tuple[str, dict[str, Any]]] = []
    original = transport.Transport.request

    def recording(self, method, url, params=None, **kwargs):
        if "/cthings-api/" in url:
            sent.append((url, dict(params or {})))
        return original(self, method, url, params=params, **kwargs)

    monkeypatch.setattr(transport.Transport, "request", recording)
    second = fake.base + LIST + "?page=2&limit=1000&entity=" + ENTITY["id"] + "&type=temperature_sensor&active=true"
    first = Scripted(200, envelope([device("boiler", True)], {"next": second, "last": second}))
    fake.state.script("GET", LIST, first, page(device("lobby", True)), first, page(device("lobby", False)))
    args = connection(fake, tmp_path, entity=ENTITY["id"].upper(), type="temperature_sensor", active="true")
    events = run(run_source(fake, args, until_polls=5))
    assert summary(events) == [("offline", "Lobby Sensor", False)]
    assert sent[0] == (fake.base + LIST, {"limit": 1000, "entity": ENTITY["id"], "type": "temperature_sensor", "active": "true"})
    assert sent[1] == (second, {})


def test_rejected_credentials_end_the_source_without_showing_the_secret(fake, tmp_path):
    fake.state.script("GET", LIST, page(device("boiler", True)))
    args = connection(fake, tmp_path, client_secret="wrong-SECRET-value")
    with pytest.raises(errors.AuthError) as raised:
        run(run_source(fake, args, until_polls=1))
    assert "rejected client_id/client_secret" in str(raised.value)
    assert "wrong-SECRET-value" not in str(raised.value)
    assert fake.state.count("GET", LIST) == 0


def test_connection_falls_back_to_the_modules_environment_variables(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("CTHINGS_API_URL", fake.urls["cthings_api_url"])
    monkeypatch.setenv("CTHINGS_AUTH_URL", fake.urls["cthings_auth_url"])
    monkeypatch.setenv("CTHINGS_CLIENT_ID", CTHINGS_CLIENT[0])
    monkeypatch.setenv("CTHINGS_CLIENT_SECRET", CTHINGS_CLIENT[1])
    monkeypatch.setenv("CTCLOUD_TOKEN_STORE", str(tmp_path / "env-tokens.json"))
    fake.state.script("GET", LIST, page(device("boiler", True)), page(device("boiler", False)))
    events = run(run_source(fake, {"interval": "0.01", "client_id": ""}, until_polls=3))
    assert summary(events) == [("offline", "Boiler Sensor", False)]
    assert (tmp_path / "env-tokens.json").is_file()


@pytest.mark.parametrize("args, message", [
    ({"client_id": None}, "client_id is required (or the environment variable CTHINGS_CLIENT_ID)"),
    ({"interval": "often"}, "interval must be a number of seconds"),
    ({"interval": 0}, "interval must be at least"),
    ({"max_backoff": "nan"}, "max_backoff must be at least"),
    ({"entity": "Northgate Estates"}, "entity must be a UUID"),
    ({"active": "maybe"}, "active must be true or false"),
    ({"report_offline_at_start": 2}, "report_offline_at_start must be true or false"),
    ({"type": ["a", "b"]}, "type must be a string"),
    ({"delay": 5}, "unknown argument 'delay'"),
])
def test_bad_arguments_fail_before_any_request(fake, tmp_path, monkeypatch, args, message):
    monkeypatch.delenv("CTHINGS_CLIENT_ID", raising=False)
    with pytest.raises(ValueError, match=re.escape(message)):
        run(run_source(fake, connection(fake, tmp_path, **args), until_polls=1))
    assert fake.state.requests == []


def test_backoff_doubles_up_to_its_cap():
    settings = DEVICES["Settings"]({"client_id": "id", "client_secret": "secret", "interval": 10, "max_backoff": 60}, environ={})
    assert [settings.backoff(failures) for failures in range(1, 6)] == [20, 40, 60, 60, 60]
    capped_below_interval = DEVICES["Settings"]({"client_id": "id", "client_secret": "secret", "interval": 30, "max_backoff": 5}, environ={})
    assert capped_below_interval.backoff(1) == 30  # never sooner than the normal interval


def test_the_documented_arguments_are_exactly_the_accepted_ones():
    fragments = {f"ctcloud.cloud.{module.__name__.rsplit('.', 1)[-1]}": yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"]
                 for module in (cthings_fragment, token_store_fragment)}
    assert documented_options(DEVICES, fragments) == set(DEVICES["OPTIONS"])
