# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cthings_device_info: input checks before any request, lookups, name matching, readings."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils import module_base
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, InputError
from ansible_collections.ctcloud.cloud.plugins.modules import cthings_device_info as module
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

DEVICE_ID = "127160a3-724a-44b7-a274-af4e6111bf90"
ENTITY_ID = "4fa6d90b-3976-4eea-a444-541087d5c3b4"


def dev(number: int, name: str, type_key: str = "energy_meter") -> dict[str, Any]:
    return {"id": f"{number:08x}-0000-4000-8000-{number:012x}", "name": name, "type": {"key": type_key}}


class FakeClient:
    """Records calls; answers like CthingsClient."""

    builds = 0
    DEVICES = [dev(1, "Boiler Room Energy Meter"), dev(2, " Kitchen "), dev(3, "Kitchen"), dev(4, "kitchen")]

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.workers = 4
        self.devices = [dict(device) for device in self.DEVICES]

    @classmethod
    def build(cls, **kwargs):
        cls.builds += 1
        cls.instance = cls()
        return cls.instance

    def get_device(self, device_id):
        self.calls.append(("get_device", device_id))
        if device_id == DEVICE_ID:
            return {"id": DEVICE_ID, "name": "One"}
        raise ApiError("Device not found", "GET", f"http://x/v3/device/{device_id}", 404)

    def list_devices(self, entity=None, type_key=None, active=None):
        self.calls.append(("list_devices", entity, type_key, active))
        return [dict(d) for d in self.devices]

    def device_readings(self, device_id, start, end):
        self.calls.append(("device_readings", device_id, start, end))
        return [{"dtm": start, "data": {"energy": {"value": 1}}}]

    def secrets(self):
        return []

    def close(self):
        pass


@pytest.fixture(autouse=True)
def fake_client(monkeypatch):
    monkeypatch.setattr(module_base, "CthingsClient", FakeClient)
    monkeypatch.setattr(FakeClient, "builds", 0)


def run_module(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("client_id", "2f1c6e0a-5a55-4c9b-9d0e-4f7f3c2b1a00")
    args.setdefault("client_secret", "secret-secret")
    return run_main(module.main, capsys, args)


def test_one_device_by_id(capsys):
    result = run_module(capsys, id=DEVICE_ID.upper())
    assert result["changed"] is False
    assert result["devices"] == [{"id": DEVICE_ID, "name": "One"}]
    assert FakeClient.instance.calls == [("get_device", DEVICE_ID)]


def test_unknown_id_is_an_empty_list(capsys):
    result = run_module(capsys, id="0f8fad5b-d9cb-469f-a165-70867728950e")
    assert result["devices"] == []
    assert "failed" not in result


def test_filters_go_to_the_client_and_name_matches_exactly_here(capsys):
    result = run_module(capsys, entity=ENTITY_ID, type="energy_meter", active=False, name="Kitchen")
    assert FakeClient.instance.calls == [("list_devices", ENTITY_ID, "energy_meter", False)]
    assert [d["id"] for d in result["devices"]] == [dev(2, "")["id"], dev(3, "")["id"]]


@pytest.mark.parametrize("given", ["Riverside Council", "  Riverside Council "])
def test_an_entity_name_lists_with_the_other_filters_and_matches_the_name_here(capsys, monkeypatch, given):
    riverside, elsewhere = {"id": ENTITY_ID, "name": "Riverside Council"}, {"id": DEVICE_ID, "name": "Riverside Council Annex"}
    devices = [dict(dev(1, "A"), entity=riverside), dict(dev(2, "B"), entity=elsewhere), dev(3, "C"), dict(dev(4, "D"), entity=riverside)]
    monkeypatch.setattr(FakeClient, "DEVICES", devices)
    result = run_module(capsys, entity=given, type="energy_meter")
    assert FakeClient.instance.calls == [("list_devices", None, "energy_meter", None)]
    assert [d["name"] for d in result["devices"]] == ["A", "D"]


def test_an_entity_uuid_goes_to_the_api_in_any_case(capsys):
    run_module(capsys, entity=ENTITY_ID.upper())
    assert FakeClient.instance.calls == [("list_devices", ENTITY_ID, None, None)]


def test_listing_everything(capsys):
    result = run_module(capsys)
    assert len(result["devices"]) == 4
    assert "readings_window" not in result


def test_readings_are_added_per_device_with_the_window(capsys):
    result = run_module(capsys, name="Boiler Room Energy Meter", readings=True, **{"from": "2024-03-01T00:00:00", "to": "2024-03-08T00:00:00"})
    assert result["readings_window"] == {"from": "2024-03-01T00:00:00", "to": "2024-03-08T00:00:00"}
    assert result["devices"][0]["readings"] == [{"dtm": "2024-03-01T00:00:00", "data": {"energy": {"value": 1}}}]
    assert ("device_readings", dev(1, "")["id"], "2024-03-01T00:00:00", "2024-03-08T00:00:00") in FakeClient.instance.calls


def test_check_mode_reads_normally(capsys):
    result = run_module(capsys, id=DEVICE_ID, _ansible_check_mode=True)
    assert result["devices"] == [{"id": DEVICE_ID, "name": "One"}]


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"id": "nope"}, "id", "id must be a UUID"),
        ({"entity": "  "}, "entity", "entity must not be empty"),
        ({"type": "  "}, "type", "type must not be empty"),
        ({"readings": True, "from": "2024-03-01", "to": "2024-03-02T00:00:00"}, "from", "from must be a time like"),
        ({"readings": True, "from": "2024-03-01T00:00:00Z"}, "from", "no time zone"),
        ({"readings": True, "from": "2024-03-02T00:00:00", "to": "2024-03-01T00:00:00"}, "from", "must be before to"),
        ({"readings": True, "from": "2024-01-01T00:00:00", "to": "2024-03-01T00:00:00"}, "to", "longer than 31 days"),
        ({"from": "2024-03-01T00:00:00"}, "from", "set readings: true"),
    ],
)
def test_bad_input_fails_naming_the_field_before_any_client_exists(capsys, args, field, message):
    result = run_module(capsys, **args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["failure"]["details"]["field"] == field
    assert result["failure"]["kind"] == "input"
    assert FakeClient.builds == 0


def test_id_and_listing_filters_are_mutually_exclusive(capsys):
    result = run_module(capsys, id=DEVICE_ID, name="x")
    assert result["failed"] is True and "mutually exclusive" in result["msg"]
    assert FakeClient.builds == 0


def test_api_errors_fail_cleanly(capsys, monkeypatch):
    def broken(self, **kwargs):
        raise ApiError("Too many requests", "GET", "http://x/v3/device", 429)

    monkeypatch.setattr(FakeClient, "list_devices", broken)
    result = run_module(capsys)
    assert result["failed"] is True
    assert result["msg"] == "GET http://x/v3/device failed (HTTP 429): Too many requests"
    assert result["failure"]["status"] == 429


@pytest.mark.parametrize("verbosity, shows_reply", [(0, False), (1, False), (2, True), (4, True)])
def test_a_failure_says_its_message_once_and_the_whole_reply_only_with_vv(capsys, monkeypatch, verbosity, shows_reply):
    reply = {"api": "cThings Cloud API", "code": 422, "data": None, "message": "limit must be a positive integer",
             "request": {"url": "/v3/device?limit=0", "method": "GET", "body": None}, "websocket": False, "version": "3.13.1"}

    def refused(self, **kwargs):
        raise ApiError("limit must be a positive integer", "GET", "http://x/v3/device", 422, details={"body": reply})

    monkeypatch.setattr(FakeClient, "list_devices", refused)
    result = run_module(capsys, _ansible_verbosity=verbosity)
    assert result["msg"] == "GET http://x/v3/device failed (HTTP 422): limit must be a positive integer"
    assert json.dumps(result).count("limit must be a positive integer") == (2 if shows_reply else 1)
    assert result["failure"] == {"method": "GET", "url": "http://x/v3/device", "status": 422, **({"details": {"body": reply}} if shows_reply else {})}


def test_window_defaults_to_the_day_before_now():
    assert module.readings_window(None, None, now=datetime(2024, 3, 8, 12, 0, 0, 999)) == ("2024-03-07T12:00:00", "2024-03-08T12:00:00")
    assert module.readings_window(None, "2024-03-08T00:00:00") == ("2024-03-07T00:00:00", "2024-03-08T00:00:00")
    assert module.readings_window("2024-02-06T00:00:00", "2024-03-08T00:00:00") == ("2024-02-06T00:00:00", "2024-03-08T00:00:00")


def test_readings_time_names_the_field():
    with pytest.raises(InputError) as caught:
        module.readings_time(20240301, "to")
    assert caught.value.field == "to"
