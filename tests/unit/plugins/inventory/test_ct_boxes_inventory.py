# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CT boxes inventory plugin's real parse, with the API client stubbed."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.ctcloud.cloud.plugins.inventory import ct_boxes
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError
from ansible_collections.ctcloud.cloud.tests.unit.plugins.inventory.conftest import PluginRunner, group_members, hostvars

LOCATIONS = [
    {"id": "1", "slug": "brighton-cafe", "location_name": "Brighton Cafe"},
    {"id": "2", "slug": "leeds-hall", "location_name": "Leeds Market Hall"},
    # Names are not unique: two gyms fold to the same group name.
    {"id": "7", "slug": "corner-gym-x7", "location_name": "Corner Gym"},
    {"id": "3", "slug": "corner-gym-x3", "location_name": "Corner  Gym"},
]
LOCATION_IDS = {location["slug"]: location["id"] for location in LOCATIONS}


def box(number: int, slug: str, state: str = "online", location: str | None = "brighton-cafe", **overrides: Any) -> dict[str, Any]:
    record = {
        "id": str(100000 + number),
        "slug": slug,
        "location_id": LOCATION_IDS[location] if location else None,
        "location_slug": location,
        "calledstationid": f"00-18-0A-00-00-{number:02X}",
        "mac": f"00:18:0a:00:00:{number:02x}",
        "description": "Reception AP",
        "state": state,
        "is_online": state in ("online", "splash_only"),
        "last_heartbeat": 1700000000,
        "wan_ip": f"127.0.0.{number}",
        "public_ip": "127.0.113.7",
        "machine_type": "MR33",
        "firmware_version": "MR 29.5",
        "serial_number": f"Q2XX-XXXX-{number:04d}",
        "uptime_seconds": 3600,
        "zone_id": None,
        "clients_online": 3,
        "tags": ["lobby"],
        "created_at": 1690000000,
    }
    record.update(overrides)
    return record


BOXES = [
    box(1, "ap-aaaaaaaaa1"),
    box(2, "ap-aaaaaaaaa2", state="offline", location="leeds-hall"),
    box(3, "ap-aaaaaaaaa3", state="splash_only"),
    box(4, "ap-aaaaaaaaa4", state="new", location=None, wan_ip=None, public_ip=None),
]


class FakeCtClient:
    builds = 0
    calls: list[Any] = []

    @classmethod
    def build(cls, **kwargs):
        cls.builds += 1
        cls.last_build = kwargs
        return cls()

    def list_all(self, segments, key, schema, params=None):
        FakeCtClient.calls.append((segments, key, params))
        if segments == ["locations"]:
            needle = (params or {}).get("q", "").casefold()
            return [dict(location) for location in LOCATIONS if needle in location["location_name"].casefold()]
        location = (params or {}).get("location_id")
        return [json.loads(json.dumps(b)) for b in BOXES if location is None or b["location_slug"] == location]

    def request(self, method, segments, schema=None, **kwargs):
        FakeCtClient.calls.append((method, segments))
        assert method == "GET" and segments[0] == "locations", "the inventory only reads"
        for location in LOCATIONS:
            if segments[1] in (location["id"], location["slug"]):
                return dict(location)
        raise ApiError("Not found", "GET", "/locations/" + segments[1], 404)

    def close(self):
        pass


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setattr(ct_boxes, "CtClient", FakeCtClient)
    monkeypatch.setattr(FakeCtClient, "builds", 0)
    monkeypatch.setattr(FakeCtClient, "calls", [])
    return PluginRunner(ct_boxes, tmp_path, ".ct_boxes.yml")


CREDENTIALS = {"client_id": "ct-client", "client_secret": "ct-secret-123", "refresh_token": "refresh-123456"}


def test_boxes_become_hosts_reachable_at_their_wan_ip(runner):
    inventory = runner.parse(CREDENTIALS)
    assert sorted(inventory.hosts) == ["ap-aaaaaaaaa1", "ap-aaaaaaaaa2", "ap-aaaaaaaaa3", "ap-aaaaaaaaa4"]
    first = hostvars(inventory, "ap-aaaaaaaaa1")
    assert first["ansible_host"] == "127.0.0.1"
    assert first["ct_box_public_ip"] == "127.0.113.7"
    assert first["ct_box_online"] is True and first["ct_box_tags"] == ["lobby"]
    assert "ansible_connection" not in first and "ansible_python_interpreter" not in first
    assert "ansible_host" not in hostvars(inventory, "ap-aaaaaaaaa4"), "a new box has no address yet"
    assert FakeCtClient.last_build["refresh_token"] == "refresh-123456"


def test_boxes_made_local_run_modules_with_the_python_running_ansible(runner):
    inventory = runner.parse(dict(CREDENTIALS, compose={"ansible_connection": "'local'"}))
    first = hostvars(inventory, "ap-aaaaaaaaa1")
    assert first["ansible_connection"] == "local" and first["ansible_python_interpreter"] == sys.executable


def test_groups_by_location_name_and_state(runner):
    inventory = runner.parse(CREDENTIALS)
    groups = group_members(inventory)
    assert groups["ct_location_brighton_cafe"] == ["ap-aaaaaaaaa1", "ap-aaaaaaaaa3"]
    assert groups["ct_location_leeds_market_hall"] == ["ap-aaaaaaaaa2"]
    assert hostvars(inventory, "ap-aaaaaaaaa2")["ct_box_location_name"] == "Leeds Market Hall"
    assert groups["ct_unassigned"] == ["ap-aaaaaaaaa4"]
    assert groups["ct_state_online"] == ["ap-aaaaaaaaa1"]
    assert groups["ct_state_offline"] == ["ap-aaaaaaaaa2"]
    assert groups["ct_state_splash_only"] == ["ap-aaaaaaaaa3"]
    assert groups["ct_state_new"] == ["ap-aaaaaaaaa4"]


def test_locations_whose_names_fold_alike_all_get_their_id_whatever_the_order(runner, monkeypatch):
    gyms = [box(5, "ap-aaaaaaaaa5", location="corner-gym-x7"), box(6, "ap-aaaaaaaaa6", location="corner-gym-x3")]
    original = list(BOXES)
    for order in (gyms, gyms[::-1]):
        monkeypatch.setattr(sys.modules[__name__], "BOXES", original + order)
        groups = group_members(runner.parse(CREDENTIALS))
        assert groups["ct_location_corner_gym_7"] == ["ap-aaaaaaaaa5"] and groups["ct_location_corner_gym_3"] == ["ap-aaaaaaaaa6"]
        assert "ct_location_corner_gym" not in groups


def test_location_filter_goes_to_the_api_and_states_filter_here(runner):
    inventory = runner.parse(dict(CREDENTIALS, location="brighton-cafe", states=["splash_only", "offline"]))
    assert FakeCtClient.calls[-1] == (["boxes"], "boxes", {"location_id": "brighton-cafe"})
    assert sorted(inventory.hosts) == ["ap-aaaaaaaaa3"]


@pytest.mark.parametrize("reference", ["Leeds Market Hall", "2", "leeds-hall"])
def test_the_location_filter_takes_a_name_an_id_or_a_slug(runner, reference):
    inventory = runner.parse(dict(CREDENTIALS, location=reference))
    assert FakeCtClient.calls[-1] == (["boxes"], "boxes", {"location_id": "leeds-hall"})
    assert sorted(inventory.hosts) == ["ap-aaaaaaaaa2"]
    assert group_members(inventory)["ct_location_leeds_market_hall"] == ["ap-aaaaaaaaa2"]


def test_a_location_that_does_not_exist_fails_with_a_sentence(runner):
    with pytest.raises(AnsibleParserError, match=r"location 'no-such-site' does not exist \(looked up as an id or slug, then as a name\)"):
        runner.parse(dict(CREDENTIALS, location="no-such-site"))
    assert (["boxes"], "boxes", {"location_id": "no-such-site"}) not in FakeCtClient.calls


def test_an_unknown_state_is_refused_before_any_request(runner):
    with pytest.raises(AnsibleParserError, match="states: 'sleeping' is not a box state; box states are online, offline, splash_only"):
        runner.parse(dict(CREDENTIALS, states=["online", "sleeping"]))
    assert FakeCtClient.builds == 0


def test_hostnames_by_description_collide_and_get_the_id(runner):
    inventory = runner.parse(dict(CREDENTIALS, hostnames=["description"]))
    assert sorted(inventory.hosts) == ["reception-ap-100001", "reception-ap-100002", "reception-ap-100003", "reception-ap-100004"]


def test_compose_can_point_ansible_host_at_the_public_ip(runner):
    inventory = runner.parse(dict(CREDENTIALS, compose={"ansible_host": "ct_box_public_ip"}))
    assert hostvars(inventory, "ap-aaaaaaaaa2")["ansible_host"] == "127.0.113.7"


def test_tags_with_an_empty_prefix_is_refused_as_reserved(runner):
    with pytest.raises(AnsibleParserError, match="'tags', a name ansible-core reserves"):
        runner.parse(dict(CREDENTIALS, hostvars_prefix="", hostvars=["state", "tags"]))
    assert FakeCtClient.builds == 0


def test_cache_hit_sends_no_request(runner, cache_dir):
    config = dict(CREDENTIALS, cache=True, cache_plugin="jsonfile", cache_connection=cache_dir)
    runner.parse(config)
    second = runner.parse(dict(config, states=["online"]))
    assert FakeCtClient.builds == 1
    assert sorted(second.hosts) == ["ap-aaaaaaaaa1"]


def test_a_blank_location_is_refused_before_any_request(runner):
    with pytest.raises(AnsibleParserError, match="location must not be empty or blank"):
        runner.parse(dict(CREDENTIALS, location="   "))
    assert FakeCtClient.builds == 0
