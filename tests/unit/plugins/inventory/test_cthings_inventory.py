# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cThings inventory plugin's real parse, with the API client stubbed."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest
from ansible.errors import AnsibleError, AnsibleParserError

from ansible_collections.ctcloud.cloud.plugins.inventory import cthings
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, AuthError
from ansible_collections.ctcloud.cloud.tests.unit.plugins.inventory.conftest import PluginRunner, group_members, hostvars

# Every device host is local, and runs modules with the Python running Ansible.
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
ENTITY_A = {"id": "4fa6d90b-3976-4eea-a444-541087d5c3b4", "name": "Riverside Council"}
ENTITY_B = {"id": "9b2e4c1a-0d3f-4e5a-8b6c-7d8e9f0a1b2c", "name": "東京 Office"}


def device(number: int, name: str | None, **overrides: Any) -> dict[str, Any]:
    record = {
        "id": f"{number:08x}-0000-4000-8000-{number:012x}",
        "device": f"{number:016x}",
        "name": name,
        "settings": {},
        "type": {"id": "501c1be5-899b-43cd-b9ef-81700adc9225", "key": "energy_meter", "type": "Energy Meter"},
        "active": True,
        "connection": {"status": True, "lastConnected": "2023-11-14T21:27:46Z", "signalStrength": -97.5, "route": ["aa"]},
        "provider": {"id": "146b0e66-d673-42a5-968c-9f505926f670", "provider": "The Things Network"},
        "manufacturer": {"id": "a4101909-c2c8-410e-8cd8-02b9fa18bc0d", "manufacturer": "Fabrikam IoT"},
        "entity": ENTITY_A,
        "node": {"id": "c579b4d1-878a-4c3f-b9bf-a0993e0048e0", "name": name, "serial": f"{number:016X}"},
        "isTest": False,
        "location": {"latitude": 51.5, "longitude": -0.1},
        "createdAt": "2023-02-19T12:37:38Z",
    }
    record.update(overrides)
    return record


DEVICES = [
    device(1, "Boiler Room Energy Meter"),
    device(2, "Kitchen Temperature", type={"id": "t2", "key": "temperature_sensor", "type": "Temperature Sensor"}),
    device(3, "Kitchen Temperature", connection={"status": False, "lastConnected": "2023-01-01T00:00:00Z", "signalStrength": None}),
    device(4, "東京", entity=ENTITY_B, manufacturer={"id": "m2", "manufacturer": "Contoso Metering"}),
    device(5, " O'Brien's Café \u2013 Temp ", active=False),
    device(6, "Test rig", isTest=True),
    device(7, "", node=None, location=None),
]


class FakeClient:
    """Stands in for CthingsClient: counts builds and calls, serves DEVICES filtered like the API."""

    builds = 0
    calls: list[dict[str, Any]] = []
    fail: Exception | None = None

    @classmethod
    def build(cls, **kwargs):
        cls.builds += 1
        cls.last_build = kwargs
        return cls()

    def list_devices(self, entity=None, type_key=None, active=None):
        FakeClient.calls.append({"entity": entity, "type": type_key, "active": active})
        if FakeClient.fail is not None:
            raise FakeClient.fail
        return [
            json.loads(json.dumps(d))
            for d in DEVICES
            if (entity is None or d["entity"]["id"] == entity)
            and (type_key is None or d["type"]["key"] == type_key)
            and (active is None or d["active"] is active)
        ]

    def close(self):
        pass


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setattr(cthings, "CthingsClient", FakeClient)
    monkeypatch.setattr(FakeClient, "builds", 0)
    monkeypatch.setattr(FakeClient, "calls", [])
    monkeypatch.setattr(FakeClient, "fail", None)
    monkeypatch.setenv("CTCLOUD_TOKEN_STORE", str(tmp_path / "tokens.json"))
    return PluginRunner(cthings, tmp_path, ".cthings.yml")


CREDENTIALS = {"client_id": "2f1c6e0a-5a55-4c9b-9d0e-4f7f3c2b1a00", "client_secret": "s3cret-s3cret"}


def test_every_non_test_device_becomes_one_host_with_safe_unique_names(runner):
    inventory = runner.parse(CREDENTIALS)
    assert sorted(inventory.hosts) == sorted([
        "boiler-room-energy-meter",
        "kitchen-temperature-00000002",
        "kitchen-temperature-00000003",
        "0000000000000004",  # "東京" folds to nothing: node.serial is next
        "o-brien-s-cafe-temp",
        "00000007-0000-4000-8000-000000000007",  # no name, no node: the id
    ])


def test_default_hostvars_are_prefixed_and_never_reserved(runner):
    inventory = runner.parse(CREDENTIALS)
    assert hostvars(inventory, "boiler-room-energy-meter") == {
        **LOCAL,
        "cthings_id": "00000001-0000-4000-8000-000000000001",
        "cthings_device": "0000000000000001",
        "cthings_name": "Boiler Room Energy Meter",
        "cthings_type": "energy_meter",
        "cthings_type_label": "Energy Meter",
        "cthings_entity": "Riverside Council",
        "cthings_entity_id": ENTITY_A["id"],
        "cthings_manufacturer": "Fabrikam IoT",
        "cthings_provider": "The Things Network",
        "cthings_online": True,
        "cthings_signal_strength": -97.5,
        "cthings_last_connected": "2023-11-14T21:27:46Z",
        "cthings_latitude": 51.5,
        "cthings_longitude": -0.1,
        "cthings_node_serial": "0000000000000001",
        "cthings_active": True,
        "cthings_is_test": False,
    }
    missing = hostvars(inventory, "00000007-0000-4000-8000-000000000007")
    assert missing["cthings_node_serial"] is None and missing["cthings_latitude"] is None


def test_default_groups_by_type_entity_manufacturer_and_connection(runner):
    groups = group_members(runner.parse(CREDENTIALS))
    assert groups["cthings_type_temperature_sensor"] == ["kitchen-temperature-00000002"]
    assert groups["cthings_entity_riverside_council"] == sorted([
        "boiler-room-energy-meter", "kitchen-temperature-00000002", "kitchen-temperature-00000003",
        "o-brien-s-cafe-temp", "00000007-0000-4000-8000-000000000007",
    ])
    # "東京 Office" keeps "office"; a name with nothing left would use the entity id.
    assert groups["cthings_entity_office"] == ["0000000000000004"]
    assert groups["cthings_manufacturer_contoso_metering"] == ["0000000000000004"]
    assert groups["cthings_offline"] == ["kitchen-temperature-00000003"]
    assert len(groups["cthings_online"]) == 5
    assert all(name.isidentifier() for name in groups)


def test_prefix_suffix_and_allow_list(runner):
    inventory = runner.parse(dict(CREDENTIALS, hostvars_prefix="dev_", hostvars_suffix="_x", hostvars=["type", "online"], group_prefix="iot_"))
    assert hostvars(inventory, "boiler-room-energy-meter") == {**LOCAL, "dev_type_x": "energy_meter", "dev_online_x": True}
    assert "iot_type_energy_meter" in inventory.groups


def test_a_prefix_that_makes_a_reserved_name_is_refused(runner):
    with pytest.raises(AnsibleParserError, match="'name', a name ansible-core reserves"):
        runner.parse(dict(CREDENTIALS, hostvars_prefix=""))
    assert FakeClient.builds == 0


def test_an_empty_prefix_is_fine_with_an_allow_list_of_unreserved_names(runner):
    inventory = runner.parse(dict(CREDENTIALS, hostvars_prefix="", hostvars=["online", "signal_strength"]))
    assert hostvars(inventory, "boiler-room-energy-meter") == {**LOCAL, "online": True, "signal_strength": -97.5}


def test_hostnames_preference_order(runner):
    inventory = runner.parse(dict(CREDENTIALS, hostnames=["node.serial", "id"]))
    assert "0000000000000001" in inventory.hosts
    assert "00000007-0000-4000-8000-000000000007" in inventory.hosts  # node is null: next preference


def test_filters_go_to_the_api_and_test_devices_are_skipped_unless_asked(runner):
    inventory = runner.parse(dict(CREDENTIALS, entity=ENTITY_A["id"], type="energy_meter", active=True))
    assert FakeClient.calls == [{"entity": ENTITY_A["id"], "type": "energy_meter", "active": True}]
    assert sorted(inventory.hosts) == ["00000007-0000-4000-8000-000000000007", "boiler-room-energy-meter", "kitchen-temperature"]
    with_tests = runner.parse(dict(CREDENTIALS, include_test_devices=True))
    assert "test-rig" in with_tests.hosts


def test_default_groups_can_be_turned_off(runner):
    inventory = runner.parse(dict(CREDENTIALS, default_groups=False))
    assert set(inventory.groups) == {"all", "ungrouped"}


def test_constructed_features_run_on_the_built_hostvars(runner):
    inventory = runner.parse(dict(
        CREDENTIALS,
        compose={"ansible_connection": "'ssh'", "short_type": "cthings_type[:6]"},
        groups={"weak": "cthings_signal_strength is not none and cthings_signal_strength < -90"},
        keyed_groups=[{"key": "cthings_provider", "prefix": "provider"}],
    ))
    host = hostvars(inventory, "boiler-room-energy-meter")
    assert host["ansible_connection"] == "ssh" and host["short_type"] == "energy"
    assert "ansible_python_interpreter" not in host  # the controller's Python is no use over SSH
    members = group_members(inventory)
    assert "boiler-room-energy-meter" in members["weak"]
    assert "kitchen-temperature-00000003" not in members["weak"]  # signal strength null
    assert len(members["provider_The_Things_Network"]) == 6


@pytest.mark.parametrize("configured, compose, expected", [
    ("/opt/python3.12/bin/python3", None, "/opt/python3.12/bin/python3"),
    ("auto", None, "auto"),
    ("", None, None),
    (None, {"ansible_python_interpreter": "'/usr/bin/python3'"}, "/usr/bin/python3"),
])
def test_the_interpreter_of_local_hosts_can_be_chosen_or_left_alone(runner, configured, compose, expected):
    options = dict(CREDENTIALS, python_interpreter=configured) if configured is not None else dict(CREDENTIALS)
    if compose:
        options["compose"] = compose
    host = hostvars(runner.parse(options), "boiler-room-energy-meter")
    assert host.get("ansible_python_interpreter") == expected


def test_cache_hit_sends_no_request_and_rebuilds_from_raw_records(runner, cache_dir):
    config = dict(CREDENTIALS, cache=True, cache_plugin="jsonfile", cache_connection=cache_dir)
    first = runner.parse(config)
    assert FakeClient.builds == 1
    # Changed building options and no credentials at all: still a hit, built anew.
    changed = dict(config, hostvars=["type"], keyed_groups=[{"key": "cthings_type", "prefix": "kind"}], client_secret=None)
    second = runner.parse(changed)
    assert FakeClient.builds == 1, "a cache hit must not even build a client"
    assert sorted(second.hosts) == sorted(first.hosts)
    assert hostvars(second, "boiler-room-energy-meter") == {**LOCAL, "cthings_type": "energy_meter"}
    assert "kind_energy_meter" in second.groups
    files = os.listdir(cache_dir)
    assert len(files) == 1
    with open(os.path.join(cache_dir, files[0])) as handle:
        stored = json.load(handle)
    if "__payload__" in stored:  # ansible-core 2.19 wraps every cache value once more
        stored = json.loads(stored["__payload__"])
    assert [d["id"] for d in json.loads(stored["records"])] == [d["id"] for d in DEVICES], "the raw records, test devices included"


def test_flush_cache_refetches_and_a_different_query_misses(runner, cache_dir):
    config = dict(CREDENTIALS, cache=True, cache_plugin="jsonfile", cache_connection=cache_dir)
    runner.parse(config)
    runner.parse(config, cache=False)  # --flush-cache / refresh_inventory
    assert FakeClient.builds == 2
    runner.parse(dict(config, type="energy_meter"))
    assert FakeClient.builds == 3
    assert len(os.listdir(cache_dir)) == 2


def test_credentials_are_templated(runner):
    runner.parse({"client_id": "{{ '2f1c6e0a-5a55-4c9b-9d0e-4f7f3c2b1a00' }}", "client_secret": "{{ 'abc' ~ 'def' }}"})
    assert FakeClient.last_build["client_secret"] == "abcdef"
    assert FakeClient.last_build["client_id"] == CREDENTIALS["client_id"]


def test_credentials_come_from_the_modules_environment_variables(runner, monkeypatch):
    monkeypatch.setenv("CTHINGS_CLIENT_ID", "2f1c6e0a-5a55-4c9b-9d0e-4f7f3c2b1a00")
    monkeypatch.setenv("CTHINGS_CLIENT_SECRET", "from-env")
    monkeypatch.setenv("CTHINGS_API_URL", "http://127.0.0.1:9/cthings-api")
    runner.parse({})
    assert FakeClient.last_build["client_secret"] == "from-env"
    assert FakeClient.last_build["api_url"] == "http://127.0.0.1:9/cthings-api"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"hostname": ["id"]}, r"unknown option 'hostname' \(did you mean 'hostnames'\?\)"),
        ({"entity": "not-a-uuid"}, "entity must be a UUID"),
        ({"hostnames": ["name", "a b"]}, "hostnames entries are record fields"),
        ({"hostnames": []}, "hostnames must be a non-empty list"),
        ({"group_prefix": "9x-"}, "group_prefix must be empty or start with a letter"),
        ({"hostvars_suffix": "-x"}, "not a valid variable name"),
        ({"client_id": "{{ nope_undefined }}"}, "option client_id: the template cannot be rendered"),
    ],
)
def test_bad_config_fails_before_any_request(runner, config, message):
    with pytest.raises(AnsibleError, match=message):
        runner.parse(dict(CREDENTIALS, **config))
    assert FakeClient.builds == 0


def test_api_failures_become_one_sentence(runner):
    FakeClient.fail = AuthError("cThings rejected client_id/client_secret (invalid_client)", "POST", "http://x/token", 401)
    with pytest.raises(AnsibleParserError, match=r"POST http://x/token failed \(HTTP 401\): cThings rejected client_id/client_secret") as caught:
        runner.parse(CREDENTIALS)
    assert caught.value.__cause__ is None
    FakeClient.fail = ApiError("connection failed: refused", "GET", "http://127.0.0.1:1/v3/device")
    with pytest.raises(AnsibleParserError, match="connection failed: refused"):
        runner.parse(CREDENTIALS)


def test_only_config_files_named_for_the_plugin_are_taken(runner, tmp_path):
    plugin = runner.plugin()
    for name in ("a.cthings.yml", "a.cthings.yaml", "a.yml", "a.ct_boxes.yml"):
        (tmp_path / name).write_text("plugin: ctcloud.cloud.cthings\n")
    assert plugin.verify_file(str(tmp_path / "a.cthings.yml"))
    assert plugin.verify_file(str(tmp_path / "a.cthings.yaml"))
    assert not plugin.verify_file(str(tmp_path / "a.yml"))
    assert not plugin.verify_file(str(tmp_path / "a.ct_boxes.yml"))
