# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cthings
short_description: cThings Cloud devices as inventory hosts
version_added: 0.1.0
author:
  - ctcloud.cloud contributors (@ctcloud)
description:
  - Every cThings Cloud device becomes one inventory host, with host variables describing it and default groups by
    type, entity, manufacturer and connection state.
  - The configuration file name must end with C(.cthings.yml) or C(.cthings.yaml).
  - The connection options may be Jinja2 templates (lookups, extra vars); the same environment variables as the
    modules' apply when an option is not set.
  - Every host gets C(ansible_connection=local), since devices are not SSH targets, and C(ansible_python_interpreter)
    set to the Python running Ansible (see O(python_interpreter)), so that a play over these hosts runs the
    collection's modules with no interpreter configured; set another connection with O(compose).
  - "Host variables (each named O(hostvars_prefix) + name + O(hostvars_suffix), by default C(cthings_<name>)):
    C(id) (UUID), C(device) (hardware identifier, for example a DevEUI), C(name) (as in the API, not unique),
    C(type) (type key), C(type_label), C(entity) (entity name), C(entity_id), C(manufacturer), C(provider),
    C(online) (connection status), C(signal_strength) (dBm), C(last_connected) (ISO 8601),
    C(latitude), C(longitude) (null when unknown), C(node_serial), C(active), C(is_test)."
  - "Default groups (each named O(group_prefix) + ..., by default C(cthings_...)): C(type_<type key>),
    C(entity_<entity name>), C(manufacturer_<name>), and C(online) or C(offline). Names are folded to lower-case
    ASCII letters, digits and underscores; a name with nothing left (for example only non-Latin letters) uses the id."
  - With caching on, the raw device list is cached and the hosts are rebuilt from it on every run, so changes to
    O(compose), O(keyed_groups), O(hostnames) or the host variable options apply at once; a cache hit sends no
    request at all. The cache key depends on O(api_url), O(client_id), O(entity), O(type) and O(active).
extends_documentation_fragment:
  - ctcloud.cloud.cthings
  - ctcloud.cloud.token_store
  - ctcloud.cloud.inventory_hosts
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    type: str
    choices: [ctcloud.cloud.cthings]
  client_id:
    env:
      - name: CTHINGS_CLIENT_ID
  client_secret:
    env:
      - name: CTHINGS_CLIENT_SECRET
  api_url:
    env:
      - name: CTHINGS_API_URL
  auth_url:
    env:
      - name: CTHINGS_AUTH_URL
  token_store:
    env:
      - name: CTCLOUD_TOKEN_STORE
  token_store_key:
    env:
      - name: CTCLOUD_TOKEN_STORE_KEY
  hostnames:
    description:
      - The device fields to name hosts by, in order of preference; the first one with a usable value wins, and
        a device with none of them is named by its id.
      - A field is a name or a dotted path in the API's device record, such as V(name), V(node.serial),
        V(device) or V(id).
      - "Names are made safe for host patterns (lower-case ASCII letters, digits and hyphens, at most 63 characters):
        V(Boiler Room: Meter #1) becomes V(boiler-room-meter-1)."
      - Devices whose names collide (after that folding), or that would be named V(all), V(ungrouped) or
        V(localhost), all get the first block of their id appended (V(kitchen-temperature-sensor-1a2b3c4d)),
        so the result does not depend on the order of the API's reply.
    type: list
    elements: str
    default: [name, node.serial, id]
  hostvars_prefix:
    description:
      - Prepended to every host variable name this plugin sets (except C(ansible_connection)).
      - A prefix and suffix that would make a name ansible-core reserves (such as C(name)) are refused.
    type: str
    default: cthings_
  hostvars_suffix:
    description: Appended to every host variable name this plugin sets (except C(ansible_connection)).
    type: str
    default: ""
  hostvars:
    description:
      - Set only these host variables (names without prefix and suffix); by default all of them.
      - A short list keeps the inventory small and fast for large fleets.
    type: list
    elements: str
    choices: [id, device, name, type, type_label, entity, entity_id, manufacturer, provider, online, signal_strength,
              last_connected, latitude, longitude, node_serial, active, is_test]
  default_groups:
    description: Add the default groups described above. O(groups) and O(keyed_groups) work either way.
    type: bool
    default: true
  group_prefix:
    description: Prepended to every default group name. Letters, digits and underscores; may be empty.
    type: str
    default: cthings_
  entity:
    description: Only devices of the entity with this UUID (filtered by the API).
    type: str
  type:
    description: Only devices of this type key, for example V(energy_meter) (filtered by the API).
    type: str
  active:
    description: Only active (V(true)) or only inactive (V(false)) devices (filtered by the API). Default is both.
    type: bool
  include_test_devices:
    description: Also make hosts of devices the API marks as test devices (C(isTest)).
    type: bool
    default: false
"""

EXAMPLES = r"""
# inventory/devices.cthings.yml: credentials from CTHINGS_CLIENT_ID and CTHINGS_CLIENT_SECRET
plugin: ctcloud.cloud.cthings

---
# Only one entity's active energy meters, credentials from a vault variable passed as extra vars,
# hosts named by node serial, a small set of host variables, and a cache of an hour.
plugin: ctcloud.cloud.cthings
client_id: "{{ vault_cthings_client_id }}"
client_secret: "{{ vault_cthings_client_secret }}"
entity: 4fa6d90b-3976-4eea-a444-541087d5c3b4
type: energy_meter
active: true
hostnames: [node.serial, id]
hostvars: [type, online, signal_strength, last_connected]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 3600

---
# Constructed features on top of the default groups.
plugin: ctcloud.cloud.cthings
keyed_groups:
  - key: cthings_provider
    prefix: provider
groups:
  weak_signal: cthings_signal_strength is not none and cthings_signal_strength < -110
compose:
  # Reach devices through a gateway host instead of locally.
  ansible_connection: "'ssh'"
  ansible_host: "'gateway.example.net'"
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.cthings import DEFAULT_API_URL, DEFAULT_AUTH_URL, CthingsClient
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.cloud_inventory import CloudInventory
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.group_names import GroupNamer
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.record_fields import path

# Host variable name (before prefix and suffix) -> how to read it from a device record.
DEVICE_HOSTVARS = {
    "id": path("id"),
    "device": path("device"),
    "name": path("name"),
    "type": path("type", "key"),
    "type_label": path("type", "type"),
    "entity": path("entity", "name"),
    "entity_id": path("entity", "id"),
    "manufacturer": path("manufacturer", "manufacturer"),
    "provider": path("provider", "provider"),
    "online": path("connection", "status"),
    "signal_strength": path("connection", "signalStrength"),
    "last_connected": path("connection", "lastConnected"),
    "latitude": path("location", "latitude"),
    "longitude": path("location", "longitude"),
    "node_serial": path("node", "serial"),
    "active": path("active"),
    "is_test": path("isTest"),
}

_type_key = path("type", "key")
_type_id = path("type", "id")
_entity_name = path("entity", "name")
_entity_id = path("entity", "id")
_manufacturer_name = path("manufacturer", "manufacturer")
_manufacturer_id = path("manufacturer", "id")
_online = path("connection", "status")


class InventoryModule(CloudInventory):
    NAME = "ctcloud.cloud.cthings"
    FILE_SUFFIXES = (".cthings.yml", ".cthings.yaml")
    QUERY_FILTERS = ("entity", "type", "active")
    HOSTVARS = DEVICE_HOSTVARS
    FIXED_HOSTVARS = {"ansible_connection": "local"}

    def read_settings(self):
        settings = self.common_settings()
        entity = self.get_option("entity")
        type_key = self.get_option("type")
        settings.update(
            {
                "connection": self.connection_settings(DEFAULT_API_URL, DEFAULT_AUTH_URL),
                "entity": validation.uuid_value(entity, "entity") if entity is not None else None,
                "type": validation.text(type_key, "type", 1) if type_key is not None else None,
                "active": self.get_option("active"),
                "include_test_devices": self.get_option("include_test_devices"),
            }
        )
        return settings

    def build_client(self, settings):
        return CthingsClient.build(**settings["connection"])

    def list_records(self, client, settings):
        return client.list_devices(entity=settings["entity"], type_key=settings["type"], active=settings["active"])

    def keep(self, record, settings):
        return settings["include_test_devices"] or not record.get("isTest")

    def group_function(self, settings):
        namer = GroupNamer(settings["group_prefix"])
        online, offline = namer.plain("online"), namer.plain("offline")

        def groups_of(device):
            return (
                namer.name("type", _type_key(device), _type_id(device)),
                namer.name("entity", _entity_name(device), _entity_id(device)),
                namer.name("manufacturer", _manufacturer_name(device), _manufacturer_id(device)),
                online if _online(device) else offline,
            )

        return groups_of
