#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cthings_device_info
short_description: Read cThings Cloud devices and, optionally, their readings
version_added: 0.1.0
description:
  - Returns one cThings device by O(id), or every device matching the filters. Pagination is handled for you.
  - With O(readings=true), each device also carries its readings between O(from) and O(to).
    Readings exist only in version 2 of the cThings API; the client picks the API version per endpoint.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.cthings
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.cthings_action_group
  - ctcloud.cloud.attributes.info_module
options:
  id:
    description:
      - The UUID of one device. The result is a list of that one device, or an empty list when no device has this id.
      - Checked before any request is sent.
      - Mutually exclusive with O(entity), O(type), O(active) and O(name).
    type: str
  entity:
    description:
      - Only devices of this entity, given by its UUID (the API's C(entity) filter) or by its name (C(entity.name),
        exactly, surrounding spaces ignored).
      - The API filters by UUID only, so with a name the devices are listed (with the other filters applied by the
        API) and matched here.
    type: str
  type:
    description:
      - Only devices of this type key, for example V(energy_meter) (the API's C(type) filter on C(type.key)).
    type: str
  active:
    description:
      - Only active (V(true)) or only inactive (V(false)) devices. Default is both.
    type: bool
  name:
    description:
      - Only devices whose name is exactly this (case-sensitive, surrounding spaces ignored on both sides).
      - The API has no name filter, so the devices are listed (with the other filters applied by the API) and matched here.
    type: str
  readings:
    description:
      - Add each device's readings between O(from) and O(to) as RV(devices[].readings).
      - One paginated request per device. Narrow the listing with O(id) or the filters first.
    type: bool
    default: false
  from:
    description:
      - Start of the readings window, inclusive, as V(YYYY-MM-DDTHH:MM:SS) without a time zone (the API's format).
      - Defaults to one day before O(to).
      - Only with O(readings=true).
    type: str
  to:
    description:
      - End of the readings window, exclusive, as V(YYYY-MM-DDTHH:MM:SS) without a time zone.
      - Must be after O(from), and at most 31 days after it.
      - Defaults to now (UTC, to the second).
      - Only with O(readings=true).
    type: str
notes:
  - Bad input (a malformed UUID, a date in another format, O(from) not before O(to)) fails before any request is sent.
"""

EXAMPLES = r"""
- name: One device
  ctcloud.cloud.cthings_device_info:
    id: 0f8fad5b-d9cb-469f-a165-70867728950e
  register: one

- name: Active energy meters of one entity
  ctcloud.cloud.cthings_device_info:
    entity: 4fa6d90b-3976-4eea-a444-541087d5c3b4
    type: energy_meter
    active: true
  register: meters

- name: The same entity by its name
  ctcloud.cloud.cthings_device_info:
    entity: Harbour Housing Trust
    type: energy_meter
  register: harbour_meters

- name: Devices called "Boiler Room Energy Meter", with a week of readings
  ctcloud.cloud.cthings_device_info:
    name: Boiler Room Energy Meter
    readings: true
    from: "2024-03-01T00:00:00"
    to: "2024-03-08T00:00:00"
  register: boiler

- name: Credentials once for every cThings task
  module_defaults:
    group/ctcloud.cloud.cthings:
      client_id: "{{ vault_cthings_client_id }}"
      client_secret: "{{ vault_cthings_client_secret }}"
  block:
    - name: Offline devices
      ctcloud.cloud.cthings_device_info:
      register: all_devices

    - name: Print their names
      ansible.builtin.debug:
        msg: "{{ all_devices.devices | rejectattr('connection.status') | map(attribute='name') }}"
"""

RETURN = r"""
devices:
  description:
    - The devices, as the API returns them, in the API's order. Always a list, empty when nothing matches.
    - The fields below are the ones the API documents; others the API adds are returned too.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The device's UUID.
      type: str
      sample: 127160a3-724a-44b7-a274-af4e6111bf90
    device:
      description: The device's hardware identifier (for example a LoRaWAN DevEUI).
      type: str
      sample: 6dc6a8a61489c224
    name:
      description: The device's name. Not unique.
      type: str
      sample: Boiler Room Energy Meter
    settings:
      description: Device settings.
      type: dict
    type:
      description: The device type, C(id), C(key) (used by the O(type) filter) and C(type) (a label).
      type: dict
      sample: {"id": "501c1be5-899b-43cd-b9ef-81700adc9225", "key": "energy_meter", "type": "Energy Meter"}
    active:
      description: Whether the device is active.
      type: bool
    connection:
      description: C(status) (connected or not), C(lastConnected) (ISO 8601), C(signalStrength) (dBm), C(route) (gateway ids).
      type: dict
      sample: {"status": true, "lastConnected": "2023-11-14T21:27:46Z", "signalStrength": -97.0, "route": ["2c756e2bbedc321d"]}
    ingest:
      description: How readings are ingested, C(identifier), C(template), C(timeShift).
      type: dict
    provider:
      description: The network provider, C(id) and C(provider) (its name).
      type: dict
    manufacturer:
      description: The manufacturer, C(id) and C(manufacturer) (its name).
      type: dict
    entity:
      description: The owning entity, C(id) (used by the O(entity) filter) and C(name).
      type: dict
    node:
      description: The device's node, C(id), C(name) and C(serial).
      type: dict
    watchlist:
      description: Whether the device is on the watch list.
      type: bool
    servicePoint:
      description: The service point, C(id) and C(type), or null.
      type: dict
    timeBinKey:
      description: The time bin key of the readings.
      type: int
    dataInterval:
      description: Minutes between readings.
      type: int
    liveAt:
      description: When the device went live (ISO 8601).
      type: str
    isTest:
      description: Whether this is a test device.
      type: bool
    location:
      description: C(latitude) and C(longitude), each a number or null.
      type: dict
    configuration:
      description: Device configuration.
      type: dict
    downlinkProtocol:
      description: Downlink protocols.
      type: list
      elements: raw
    tasks:
      description: Pending device tasks.
      type: list
      elements: raw
    createdAt:
      description: When the device was created (ISO 8601).
      type: str
    readings:
      description:
        - The device's readings in the window, oldest first. Each has C(dtm) (the reading's time, without zone)
          and C(data), a dict of measurements keyed by name, each with C(description), C(unit), C(value), C(primary), C(typeId).
      returned: when O(readings=true)
      type: list
      elements: dict
      sample:
        - dtm: "2024-03-01T00:00:00"
          data: {"energy": {"description": "Energy", "unit": "kWh", "value": 443, "primary": true, "typeId": 70}}
readings_window:
  description: The readings window actually used (O(from) and O(to) after defaults).
  returned: when O(readings=true)
  type: dict
  sample: {"from": "2024-03-01T00:00:00", "to": "2024-03-08T00:00:00"}
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.device import (
    LISTING_FILTERS,
    DeviceResource,
    checked_query,
    readings_time,
    readings_window,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule

# The window helpers moved to the device adapter; they stay importable from here, where they were.
__all__ = ["readings_time", "readings_window"]


def run(module):
    query = checked_query(module.params)
    resource = DeviceResource(module.client)
    devices = resource.find(query)
    result = {"changed": False, "devices": devices}
    if query.window is not None:
        if devices:
            resource.add_readings(devices, query.window)
        result["readings_window"] = {"from": query.window[0], "to": query.window[1]}
    return result


def main():
    module = CtCloudModule(
        {
            "id": {"type": "str"},
            "entity": {"type": "str"},
            "type": {"type": "str"},
            "active": {"type": "bool"},
            "name": {"type": "str"},
            "readings": {"type": "bool", "default": False},
            "from": {"type": "str"},
            "to": {"type": "str"},
        },
        cloud="cthings",
        supports_check_mode=True,
        mutually_exclusive=[("id", option) for option in LISTING_FILTERS],
    )
    module.run(run)


if __name__ == "__main__":
    main()
