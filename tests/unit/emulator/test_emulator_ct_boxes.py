"""CT boxes: list filters, one box, reboot and the other actions, offline refusal, admin field setting."""

from __future__ import annotations

import ipaddress
import re
import time

import pytest
from emulator_testing import TEST_SEED

BOX_FIELDS = {
    "id", "slug", "location_id", "location_slug", "calledstationid", "mac", "description", "state", "is_online",
    "last_heartbeat", "wan_ip", "public_ip", "machine_type", "firmware_version", "serial_number", "uptime_seconds",
    "zone_id", "clients_online", "tags", "created_at",
}


def all_boxes(emu, **filters):
    return emu.ct_json("GET", "/boxes", params={"per": 100, **filters})["boxes"]


def online_box(emu):
    return next(box for box in all_boxes(emu) if box["state"] == "online")


def box_action(emu, slug, action, expected=200):
    return emu.ct_json("PATCH", f"/boxes/{slug}", expected, json={"box": {"action": action}})


def test_list_shape_and_seed_spread(emu):
    boxes = all_boxes(emu)
    assert len(boxes) == TEST_SEED.boxes
    assert all(set(box) == BOX_FIELDS for box in boxes)
    states = {box["state"] for box in boxes}
    assert {"online", "offline"} <= states
    assert any(":" in box["calledstationid"] for box in boxes) and any("-" in box["calledstationid"] for box in boxes)
    for box in boxes:
        assert re.fullmatch(r"([0-9A-F]{2}[:-]){5}[0-9A-F]{2}", box["calledstationid"])
        assert box["id"].isdigit()
        if box["wan_ip"]:
            assert ipaddress.ip_address(box["wan_ip"]).is_loopback
            assert ipaddress.ip_address(box["public_ip"]).is_loopback


def test_filter_by_location_slug_or_id(emu):
    box = next(box for box in all_boxes(emu) if box["location_id"])
    by_slug = all_boxes(emu, location_id=box["location_slug"])
    assert box["id"] in {b["id"] for b in by_slug}
    assert all(b["location_id"] == box["location_id"] for b in by_slug)
    assert by_slug == all_boxes(emu, location_id=box["location_id"])
    assert all_boxes(emu, location_id="no-such-location") == []


@pytest.mark.parametrize("field", ["state", "firmware_version", "machine_type"])
def test_exact_filters(emu, field):
    value = all_boxes(emu)[0][field]
    filtered = all_boxes(emu, **{field: value})
    assert filtered and all(box[field] == value for box in filtered)
    assert len(filtered) == sum(box[field] == value for box in all_boxes(emu))


def test_q_searches_description_mac_and_slug(emu):
    box = all_boxes(emu)[0]
    for needle in (box["calledstationid"].lower(), box["slug"][3:9], box["description"].upper()):
        assert box["id"] in {b["id"] for b in all_boxes(emu, q=needle)}


def test_q_also_matches_the_serial_number_and_the_other_mac_spelling(emu):
    dashed = next(box for box in all_boxes(emu) if "-" in box["calledstationid"])
    assert dashed["mac"] == dashed["calledstationid"].replace("-", ":").lower()
    assert dashed["id"] in {b["id"] for b in all_boxes(emu, q=dashed["mac"][:11])}  # "aa:bb:cc:dd": only `mac` has colons
    assert [b["id"] for b in all_boxes(emu, q=dashed["serial_number"])] == [dashed["id"]]


def test_a_lagging_heartbeat_shows_an_uptime_counted_to_now(emu):
    box = online_box(emu)
    booted = box["last_heartbeat"] - box["uptime_seconds"]
    emu.configure(heartbeat_lag=50)
    before = time.time()
    lagging = emu.ct_json("GET", f"/boxes/{box['slug']}")
    after = time.time()
    assert int(before) - 50 <= lagging["last_heartbeat"] <= int(after) - 50
    assert int(before - booted) <= lagging["uptime_seconds"] <= int(after - booted)
    box_action(emu, box["slug"], "reboot")
    time.sleep(0.3)
    back = emu.ct_json("GET", f"/boxes/{box['slug']}")  # rebooted a moment ago, its last heartbeat from before that
    assert back["uptime_seconds"] <= 5 and back["last_heartbeat"] <= int(time.time()) - 50


def test_get_one_by_slug_and_unknown_is_404(emu):
    box = all_boxes(emu)[0]
    assert emu.ct_json("GET", f"/boxes/{box['slug']}") == box
    response = emu.ct_get("/boxes/ap-doesnotexist")
    assert response.status_code == 404 and set(response.json()) == {"message"}


def test_reboot_goes_rebooting_then_online_after_the_delay(emu):
    box = online_box(emu)
    before = time.time()
    rebooting = box_action(emu, box["slug"], "reboot")
    assert (rebooting["state"], rebooting["is_online"]) == ("rebooting", False)
    assert emu.ct_json("GET", f"/boxes/{box['slug']}")["state"] == "rebooting"
    assert [b["id"] for b in all_boxes(emu, state="rebooting")] == [box["id"]]
    time.sleep(0.3)
    back = emu.ct_json("GET", f"/boxes/{box['slug']}")
    assert (back["state"], back["is_online"], back["uptime_seconds"]) == ("online", True, 0)
    assert back["last_heartbeat"] >= int(before)
    assert emu.stats()["writes"]["boxes"]["PATCH"] == 1


def test_reset_reboots_and_resync_processes(emu):
    boxes = [box for box in all_boxes(emu) if box["state"] == "online"][:2]
    assert box_action(emu, boxes[0]["slug"], "reset")["state"] == "rebooting"
    resyncing = box_action(emu, boxes[1]["slug"], "resync")
    assert (resyncing["state"], resyncing["is_online"]) == ("processing", True)
    time.sleep(0.3)
    assert [emu.ct_json("GET", f"/boxes/{box['slug']}")["state"] for box in boxes] == ["online", "online"]


def test_cancel_restores_the_state_before_the_action(emu):
    box = online_box(emu)
    box_action(emu, box["slug"], "reboot")
    cancelled = box_action(emu, box["slug"], "cancel")
    assert (cancelled["state"], cancelled["is_online"]) == ("online", True)
    assert box_action(emu, box["slug"], "cancel")["state"] == "online"  # nothing pending: no change


def test_offline_box_refuses_actions_with_422(emu):
    box = next(box for box in all_boxes(emu) if box["state"] == "offline")
    assert box_action(emu, box["slug"], "reboot", 422) == {"errors": {"action": ["box is offline"]}}
    assert emu.ct_json("GET", f"/boxes/{box['slug']}") == box
    assert emu.stats()["writes"]["boxes"]["PATCH"] == 0


@pytest.mark.parametrize(("body", "errors"), [
    ({"box": {"action": "explode"}}, {"action": ["is not included in the list"]}),
    ({"box": {"description": "renamed"}}, {"action": ["can't be blank"]}),
])
def test_bad_actions_are_422(emu, body, errors):
    box = online_box(emu)
    assert emu.ct_json("PATCH", f"/boxes/{box['slug']}", 422, json=body) == {"errors": errors}


def test_admin_sets_box_fields_directly(emu):
    box = online_box(emu)
    updated = emu.admin("POST", f"ct/boxes/{box['slug']}", {"state": "offline", "is_online": False})
    assert (updated["state"], updated["is_online"]) == ("offline", False)
    assert box_action(emu, box["slug"], "reboot", 422) == {"errors": {"action": ["box is offline"]}}
    unknown = emu.session.post(f"{emu.admin_url}/ct/boxes/{box['slug']}", json={"colour": "red"})
    assert unknown.status_code == 400
    assert emu.session.post(f"{emu.admin_url}/ct/boxes/ap-nothing", json={"state": "online"}).status_code == 404


@pytest.mark.parametrize("address", ["198.51.100.3", "192.0.2.20", "203.0.113.7", "::ffff:198.51.100.1", "not an address"])
def test_admin_refuses_box_addresses_beyond_loopback(emu, address):
    box = online_box(emu)
    for field in ("wan_ip", "public_ip"):
        refused = emu.session.post(f"{emu.admin_url}/ct/boxes/{box['slug']}", json={field: address})
        assert refused.status_code == 400 and "loopback" in refused.json()["error"]
    assert emu.ct_json("GET", f"/boxes/{box['slug']}")["wan_ip"] == box["wan_ip"]
    assert emu.admin("POST", f"ct/boxes/{box['slug']}", {"wan_ip": "127.9.9.9", "public_ip": None})["wan_ip"] == "127.9.9.9"
