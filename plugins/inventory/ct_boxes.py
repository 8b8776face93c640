# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ct_boxes
short_description: CT boxes (access points) as inventory hosts
version_added: 0.1.0
author:
  - ctcloud.cloud contributors (@ctcloud)
description:
  - Every CT box becomes one inventory host, reachable at its own address, with host variables describing it and
    default groups by location and state.
  - The configuration file name must end with C(.ct_boxes.yml) or C(.ct_boxes.yaml).
  - The connection options may be Jinja2 templates (lookups, extra vars); the same environment variables as the
    modules' apply when an option is not set.
  - C(ansible_host) is the box's C(wan_ip), the address of the box's own WAN interface. It is not C(public_ip), the
    address the CT cloud sees the box's traffic come from, which usually belongs to the site's NAT router and is shared
    by every box behind it. Reach boxes over the site network or a VPN; to use another address set C(ansible_host)
    with O(compose), for example V(ct_box_public_ip). Boxes without a C(wan_ip) (new boxes) get no C(ansible_host).
  - To run the collection's modules per box (they call the CT API from the controller), make the hosts local with
    O(compose) (C(ansible_connection) V("'local'")); such hosts get C(ansible_python_interpreter) set to the Python
    running Ansible, see O(python_interpreter).
  - "Host variables (each named O(hostvars_prefix) + name + O(hostvars_suffix), by default C(ct_box_<name>)):
    C(id), C(slug), C(calledstationid) (the MAC address as CT stores it), C(mac), C(description), C(state),
    C(online), C(location_id), C(location_slug), C(location_name), C(wan_ip), C(public_ip), C(machine_type),
    C(firmware_version), C(serial_number), C(uptime_seconds), C(last_heartbeat) (unix seconds), C(clients_online),
    C(zone_id), C(tags), C(created_at) (unix seconds)."
  - "Default groups (each named O(group_prefix) + ..., by default C(ct_...)): C(location_<location name>), for
    example C(ct_location_brighton_seafront_cafe) (C(unassigned) for boxes without a location), and C(state_<state>)
    (for example C(ct_state_online), C(ct_state_offline), C(ct_state_splash_only)). Names are folded to lower-case
    ASCII letters, digits and underscores. Locations whose names fold to the same group name (names are not unique)
    all get their id appended, whatever the order of the API's reply."
  - The location names come from the API's location list (one more list read), or from the location O(location)
    names.
  - With caching on, the box list (each box with its location's name) is cached and the hosts are rebuilt from it on
    every run; a cache hit sends no request at all. The cache key depends on O(api_url), O(client_id) and
    O(location).
  - Like the modules, the plugin renews CT access tokens with the refresh token and keeps the rotated refresh token
    in O(token_store).
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.inventory_hosts
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    type: str
    choices: [ctcloud.cloud.ct_boxes]
  client_id:
    env:
      - name: CT_CLIENT_ID
  client_secret:
    env:
      - name: CT_CLIENT_SECRET
  refresh_token:
    env:
      - name: CT_REFRESH_TOKEN
  access_token:
    env:
      - name: CT_ACCESS_TOKEN
  api_url:
    env:
      - name: CT_API_URL
  auth_url:
    env:
      - name: CT_AUTH_URL
  token_store:
    env:
      - name: CTCLOUD_TOKEN_STORE
  token_store_key:
    env:
      - name: CTCLOUD_TOKEN_STORE_KEY
  hostnames:
    description:
      - The box fields to name hosts by, in order of preference; the first one with a usable value wins, and a box
        with none of them is named by its id.
      - A field is a name or a dotted path in the API's box record, such as V(slug), V(calledstationid),
        V(serial_number), V(description) or V(id).
      - Names are made safe for host patterns (lower-case ASCII letters, digits and hyphens, at most 63 characters).
        Boxes whose names collide, or that would be named V(all), V(ungrouped) or V(localhost), all get their id
        appended, so the result does not depend on the order of the API's reply.
    type: list
    elements: str
    default: [slug, id]
  hostvars_prefix:
    description:
      - Prepended to every host variable name this plugin sets (except C(ansible_host)).
      - A prefix and suffix that would make a name ansible-core reserves (such as C(tags)) are refused.
    type: str
    default: ct_box_
  hostvars_suffix:
    description: Appended to every host variable name this plugin sets (except C(ansible_host)).
    type: str
    default: ""
  hostvars:
    description:
      - Set only these host variables (names without prefix and suffix); by default all of them.
    type: list
    elements: str
    choices: [id, slug, calledstationid, mac, description, state, online, location_id, location_slug, location_name, wan_ip,
              public_ip, machine_type, firmware_version, serial_number, uptime_seconds, last_heartbeat, clients_online,
              zone_id, tags, created_at]
  default_groups:
    description: Add the default groups described above. O(groups) and O(keyed_groups) work either way.
    type: bool
    default: true
  group_prefix:
    description: Prepended to every default group name. Letters, digits and underscores; may be empty.
    type: str
    default: ct_
  location:
    description:
      - Only boxes of this location (filtered by the API), given by numeric id, slug or name (API C(location_name)),
        like the modules take it. A value shaped like an id or slug is tried as one first, then as a name.
      - A location that does not exist, or a name several locations share, fails with a sentence that says so.
    type: str
  states:
    description:
      - Only boxes in one of these states, for example V([online, offline]). Default is every state.
      - The states are V(online), V(offline), V(splash_only), V(new), V(processing), V(rebooting) and V(upgrading);
        any other value fails before any request.
    type: list
    elements: str
"""

EXAMPLES = r"""
# inventory/boxes.ct_boxes.yml: credentials from CT_CLIENT_ID, CT_CLIENT_SECRET and CT_REFRESH_TOKEN
plugin: ctcloud.cloud.ct_boxes

---
# Boxes as local hosts, for plays that run the collection's modules per box (ct_box_info, ct_box_reboot).
plugin: ctcloud.cloud.ct_boxes
compose:
  ansible_connection: "'local'"

---
# One location's boxes that are up, named by serial number, reached at their public address.
plugin: ctcloud.cloud.ct_boxes
location: Brighton Seafront Cafe
states: [online, splash_only]
hostnames: [serial_number, slug]
compose:
  ansible_host: ct_box_public_ip
keyed_groups:
  - key: ct_box_firmware_version
    prefix: firmware
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import DEFAULT_API_URL, DEFAULT_AUTH_URL, CtClient
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.box import BOX_STATES, BoxResource
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import LocationResource, find_location, missing_location
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.cloud_inventory import CloudInventory
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.group_names import GroupNamer, group_value
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.record_fields import path

# Joined into each box record from the location list: the contract's boxes carry no location name.
LOCATION_NAME = "location_name"

# Host variable name (before prefix and suffix) -> how to read it from a box record.
BOX_HOSTVARS = {
    "id": path("id"),
    "slug": path("slug"),
    "calledstationid": path("calledstationid"),
    "mac": path("mac"),
    "description": path("description"),
    "state": path("state"),
    "online": path("is_online"),
    "location_id": path("location_id"),
    "location_slug": path("location_slug"),
    "location_name": path(LOCATION_NAME),
    "wan_ip": path("wan_ip"),
    "public_ip": path("public_ip"),
    "machine_type": path("machine_type"),
    "firmware_version": path("firmware_version"),
    "serial_number": path("serial_number"),
    "uptime_seconds": path("uptime_seconds"),
    "last_heartbeat": path("last_heartbeat"),
    "clients_online": path("clients_online"),
    "zone_id": path("zone_id"),
    "tags": path("tags"),
    "created_at": path("created_at"),
}

_location_id = path("location_id")
_state = path("state")


def location_group_values(boxes):
    """location id -> the folded value of its group name: the location's name, else its slug, else its id.

    Location names are not unique; every location whose value collides with another's gets its id appended,
    so the groups do not depend on the order of the API's reply.
    """
    ids_by_value = {}
    for box in boxes:
        location_id = box.get("location_id")
        if location_id is None:
            continue
        value = group_value(box.get(LOCATION_NAME)) or group_value(box.get("location_slug")) or group_value(location_id)
        ids_by_value.setdefault(value, set()).add(str(location_id))
    return {
        location_id: value if len(ids) == 1 else f"{value}_{group_value(location_id)}"
        for value, ids in ids_by_value.items()
        for location_id in ids
    }


class InventoryModule(CloudInventory):
    NAME = "ctcloud.cloud.ct_boxes"
    FILE_SUFFIXES = (".ct_boxes.yml", ".ct_boxes.yaml")
    QUERY_FILTERS = ("location",)
    HOSTVARS = BOX_HOSTVARS
    PER_RECORD_HOSTVARS = {"ansible_host": path("wan_ip")}

    def read_settings(self):
        settings = self.common_settings()
        location = self.get_option("location")
        states = self.get_option("states")
        settings.update(
            {
                "connection": self.connection_settings(DEFAULT_API_URL, DEFAULT_AUTH_URL, ("refresh_token", "access_token")),
                "location": validation.text(location, "location", 1, 200) if location is not None else None,
                "states": frozenset(box_state(state) for state in states) if states else None,
            }
        )
        return settings

    def build_client(self, settings):
        return CtClient.build(**settings["connection"])

    def list_records(self, client, settings):
        reference = settings["location"]
        if reference is None:
            boxes = BoxResource(client).list_boxes()
            names = {str(location.get("id")): location.get("location_name") for location in LocationResource(client).list_all()}
        else:
            location = find_location(client, reference)
            if location is None:
                raise missing_location(reference)
            boxes = BoxResource(client).list_boxes({"location_id": location.get("slug") or str(location["id"])})
            names = {str(location.get("id")): location.get("location_name")}
        for box in boxes:
            box[LOCATION_NAME] = names.get(str(box.get("location_id")))
        return boxes

    def keep(self, record, settings):
        return settings["states"] is None or record.get("state") in settings["states"]

    def prepare(self, records, settings):
        settings["location_groups"] = location_group_values(records)

    def group_function(self, settings):
        namer = GroupNamer(settings["group_prefix"])
        unassigned = namer.plain("unassigned")
        locations = {location_id: namer.plain(f"location_{value}") for location_id, value in settings["location_groups"].items()}

        def groups_of(box):
            location_id = _location_id(box)
            return (
                locations.get(str(location_id), unassigned) if location_id is not None else unassigned,
                namer.name("state", _state(box)),
            )

        return groups_of


def box_state(value):
    state = validation.text(value, "states", 1)
    if state not in BOX_STATES:
        raise ValueError(f"states: {state!r} is not a box state; box states are {', '.join(BOX_STATES)}")
    return state
