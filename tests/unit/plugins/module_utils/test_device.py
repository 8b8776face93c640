# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device adapter: input rules and the readings window before any request, finding devices, readings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.device import DeviceQuery, DeviceResource, checked_query, readings_window

DEVICE_ID = "127160a3-724a-44b7-a274-af4e6111bf90"
ENTITY_ID = "4fa6d90b-3976-4eea-a444-541087d5c3b4"
NO_INPUT = {"id": None, "entity": None, "type": None, "active": None, "name": None, "readings": False, "from": None, "to": None}


def params(**given: Any) -> dict[str, Any]:
    return dict(NO_INPUT, **given)


class FakeClient:
    """CthingsClient's device methods over a list; records calls."""

    workers = 3

    def __init__(self, devices: list[dict[str, Any]] | None = None, get_error: ApiError | None = None) -> None:
        self.devices = devices or []
        self.get_error = get_error
        self.calls: list[tuple[Any, ...]] = []

    def get_device(self, device_id: str) -> dict[str, Any]:
        self.calls.append(("get_device", device_id))
        if self.get_error:
            raise self.get_error
        return {"id": device_id}

    def list_devices(self, entity: str | None = None, type_key: str | None = None, active: bool | None = None) -> list[dict[str, Any]]:
        self.calls.append(("list_devices", entity, type_key, active))
        return [dict(device) for device in self.devices]

    def device_readings(self, device_id: str, start: str, end: str) -> list[dict[str, Any]]:
        self.calls.append(("device_readings", device_id, start, end))
        return [{"dtm": start, "device": device_id}]


def test_an_entity_shaped_like_a_uuid_is_the_api_filter_anything_else_a_name():
    assert checked_query(params(entity=ENTITY_ID.upper())) == DeviceQuery(entity=ENTITY_ID)
    assert checked_query(params(entity="  Harbour Housing Trust ")) == DeviceQuery(entity_name="Harbour Housing Trust")


def test_several_bad_values_report_the_first_in_the_modules_order():
    with pytest.raises(InputError) as caught:
        checked_query(params(id="nope", type=" ", name="", entity=" ", readings=True, to="tomorrow"))
    assert caught.value.field == "id"
    with pytest.raises(InputError) as caught:
        checked_query(params(type=" ", entity=" ", readings=True, to="tomorrow"))
    assert caught.value.field == "type"
    with pytest.raises(InputError) as caught:
        checked_query(params(entity=" ", readings=True, to="tomorrow"))
    assert caught.value.field == "entity"


def test_a_window_without_readings_is_refused_and_with_readings_is_checked():
    with pytest.raises(InputError) as caught:
        checked_query(params(to="2024-03-08T00:00:00"))
    assert caught.value.field == "to"
    query = checked_query(params(readings=True, **{"from": "2024-03-01T00:00:00", "to": "2024-03-08T00:00:00"}))
    assert query.window == ("2024-03-01T00:00:00", "2024-03-08T00:00:00")
    with pytest.raises(InputError, match="longer than 31 days"):
        readings_window("2024-01-01T00:00:00", "2024-03-01T00:00:00")
    with pytest.raises(InputError, match="must be before"):
        readings_window("2024-03-08T00:00:00", "2024-03-08T00:00:00")
    assert readings_window(None, None, now=datetime(2024, 3, 8, 1, 2, 3, 400)) == ("2024-03-07T01:02:03", "2024-03-08T01:02:03")


def test_an_id_is_one_get_and_a_404_is_no_device():
    client = FakeClient()
    assert DeviceResource(client).find(DeviceQuery(id=DEVICE_ID)) == [{"id": DEVICE_ID}]
    assert client.calls == [("get_device", DEVICE_ID)]
    missing = FakeClient(get_error=ApiError("Device not found", "GET", "http://x/v3/device/x", 404))
    assert DeviceResource(missing).find(DeviceQuery(id=DEVICE_ID)) == []


def test_any_other_error_of_a_get_is_raised():
    failing = FakeClient(get_error=ApiError("boom", "GET", "http://x/v3/device/x", 500))
    with pytest.raises(ApiError):
        DeviceResource(failing).find(DeviceQuery(id=DEVICE_ID))


def test_the_api_filters_are_sent_and_names_are_matched_here_exactly_spaces_aside():
    devices = [
        {"id": "1", "name": " Kitchen ", "entity": {"name": "Harbour"}},
        {"id": "2", "name": "kitchen", "entity": {"name": "Harbour"}},
        {"id": "3", "name": "Kitchen", "entity": {"name": "Other"}},
        {"id": "4", "name": "Kitchen", "entity": None},
        {"id": "5", "name": None, "entity": {"name": "Harbour"}},
    ]
    client = FakeClient(devices)
    found = DeviceResource(client).find(DeviceQuery(entity_name="Harbour", type="energy_meter", active=True, name="Kitchen"))
    assert [device["id"] for device in found] == ["1"]
    assert client.calls == [("list_devices", None, "energy_meter", True)]  # the entity's name is never sent
    assert [device["id"] for device in DeviceResource(client).find(DeviceQuery(name="Kitchen"))] == ["1", "3", "4"]


def test_readings_are_added_to_each_device_in_order():
    client = FakeClient()
    devices = [{"id": "a"}, {"id": "b"}]
    DeviceResource(client).add_readings(devices, ("2024-03-01T00:00:00", "2024-03-02T00:00:00"))
    assert [device["readings"] for device in devices] == [
        [{"dtm": "2024-03-01T00:00:00", "device": "a"}],
        [{"dtm": "2024-03-01T00:00:00", "device": "b"}],
    ]
    assert sorted(call[1] for call in client.calls) == ["a", "b"]
