# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""cThings devices: input rules, the readings window, and finding devices (by id, the API's filters, or names).

The adapter the cThings modules read devices through, on a :class:`~.cthings.CthingsClient`
(``docs/api-contract.md``, "cThings"). The client knows endpoints, versions and pages; this file
knows what a user may ask for and what the API cannot answer by itself:

- the API filters devices by entity UUID only, so an entity given by name (``entity.name``)
  and a device name are matched here, after the API's own filters narrowed the listing;
- readings are asked for a window the API takes as ``YYYY-MM-DDTHH:MM:SS`` without a zone;
  it is checked (order, at most 31 days) before any request, and defaults to the day before now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.pagination import concurrently

# A UUID-shaped entity is an id (the API's filter); anything else is an entity's name.
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
READINGS_FORMAT = "%Y-%m-%dT%H:%M:%S"
READINGS_MAX_WINDOW = timedelta(days=31)
LISTING_FILTERS = ("entity", "type", "active", "name")


def readings_time(value: Any, field: str) -> datetime:
    """A readings bound as the API wants it: ``YYYY-MM-DDTHH:MM:SS``, no zone."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        parsed = datetime.strptime(text, READINGS_FORMAT)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InputError(f"{field} must be a time like 2024-03-01T00:00:00 (no time zone, no fraction), got {value!r}", field)
    return parsed


def readings_window(start: Any, end: Any, now: datetime | None = None) -> tuple[str, str]:
    """(from, to) as API strings, after defaults and checks. ``now`` is naive UTC."""
    upper = readings_time(end, "to") if end is not None else (now or datetime.now(timezone.utc).replace(tzinfo=None)).replace(microsecond=0)
    lower = readings_time(start, "from") if start is not None else upper - timedelta(days=1)
    if lower >= upper:
        raise InputError(f"from ({lower.strftime(READINGS_FORMAT)}) must be before to ({upper.strftime(READINGS_FORMAT)})", "from")
    if upper - lower > READINGS_MAX_WINDOW:
        raise InputError(f"the readings window from {lower.strftime(READINGS_FORMAT)} to {upper.strftime(READINGS_FORMAT)} is longer than 31 days", "to")
    return lower.strftime(READINGS_FORMAT), upper.strftime(READINGS_FORMAT)


@dataclass(frozen=True)
class DeviceQuery:
    """What the user asked for, every value checked and normalised."""

    id: str | None = None
    entity: str | None = None  # an entity's UUID: the API filters by it
    entity_name: str | None = None  # an entity's name: matched here
    type: str | None = None
    active: bool | None = None
    name: str | None = None
    window: tuple[str, str] | None = None  # (from, to) of the readings, when readings are wanted


def checked_query(params: Mapping[str, Any]) -> DeviceQuery:
    """The user's input (a module's params), checked and normalized; raises InputError before anything is sent.

    Checked in the order the module always checked them (id, type, name, entity, the window), so that of
    several bad values the same one is reported.
    """
    device_id = validation.uuid_value(params["id"], "id") if params["id"] is not None else None
    type_key = validation.text(params["type"], "type", 1) if params["type"] is not None else None
    name = validation.text(params["name"], "name", 1) if params["name"] is not None else None
    entity = entity_name = None
    if params["entity"] is not None:
        given = validation.text(params["entity"], "entity", 1)
        if UUID.match(given):
            entity = validation.uuid_value(given, "entity")
        else:
            entity_name = given
    window = None
    if params["readings"]:
        window = readings_window(params["from"], params["to"])
    elif params["from"] is not None or params["to"] is not None:
        raise InputError("from and to choose the readings window: set readings: true to read readings", "from" if params["from"] is not None else "to")
    return DeviceQuery(device_id, entity, entity_name, type_key, params["active"], name, window)


def _same_text(value: Any, wanted: str) -> bool:
    return isinstance(value, str) and value.strip() == wanted


def entity_name(device: Mapping[str, Any]) -> Any:
    entity = device.get("entity")
    return entity.get("name") if isinstance(entity, dict) else None


class DeviceResource:
    """Device reads against a :class:`~.cthings.CthingsClient` (or anything with its three device methods and ``workers``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def find(self, query: DeviceQuery) -> list[dict[str, Any]]:
        """The devices the query names, in the API's order: the one with its id (none on a 404), or the filtered listing."""
        if query.id is not None:
            try:
                return [self.client.get_device(query.id)]
            except ApiError as exc:
                if exc.status == 404:
                    return []
                raise
        devices = self.client.list_devices(entity=query.entity, type_key=query.type, active=query.active)
        if query.entity_name is not None:
            devices = [device for device in devices if _same_text(entity_name(device), query.entity_name)]
        if query.name is not None:
            devices = [device for device in devices if _same_text(device.get("name"), query.name)]
        return devices

    def add_readings(self, devices: list[dict[str, Any]], window: tuple[str, str]) -> None:
        """Each device gets its ``readings`` in the window, read concurrently (one paginated request per device)."""
        start, end = window

        def read(device: Mapping[str, Any]) -> list[dict[str, Any]]:
            return self.client.device_readings(device["id"], start, end)

        for device, readings in zip(devices, concurrently(read, devices, self.client.workers)):
            device["readings"] = readings
