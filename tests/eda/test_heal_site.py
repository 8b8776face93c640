# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ctcloud.cloud.heal_site under the real ansible-rulebook, both event sources against the emulator.

A device flipped offline must trigger exactly one remediation run, which reboots exactly
the mapped location's boxes that are not online (and says what it skipped); a webhook
reading above the threshold must trigger the user playbook once; unauthenticated and
malformed webhook requests must trigger nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from rulebook_testing import EDA_DIR, clean_environment, self_signed_certificate, wait_for

SEED = {"locations": 4, "boxes": 12, "devices": 12, "seed": 7, "reboot_delay": 0.2}
WEBHOOK_TOKEN = "hook-token-SECRET-4a7e"
HEAL_PLAY = "PLAY [Heal the CT location of a cThings site]"
ALERT_PLAY = "PLAY [Record a threshold alert]"
DEVICE_LIST = "GET /cthings-api/v3/device"


def _polls(emulator: Any) -> int:
    return emulator.stats()["requests"].get(DEVICE_LIST, 0)


def _site(state: dict[str, Any]) -> dict[str, Any]:
    """The scene: the location with the most boxes is the mapped site; the next one is mapped to another entity."""
    by_location: dict[str, list[dict[str, Any]]] = {}
    for box in state["boxes"]:
        if box["location_slug"]:
            by_location.setdefault(box["location_slug"], []).append(box)
    ranked = sorted(by_location.values(), key=len, reverse=True)
    names = {location["slug"]: location["location_name"] for location in state["locations"]}
    site, other = ranked[0], ranked[1]
    online = [box for box in site if box["state"] == "online"]
    assert len(online) >= 3 and len(site) > len(online), "the seed must give the site online and other boxes"
    return {
        "name": names[site[0]["location_slug"]], "boxes": site, "other_name": names[other[0]["location_slug"]], "other_boxes": other,
        "degraded": [box["slug"] for box in online[:2]],  # splash_only: up, so rebootable, but not online
        "kept_online": [box["slug"] for box in online[2:]],
        "not_rebootable": [box["slug"] for box in site if box["state"] != "online"],  # offline or never connected
    }


def test_offline_device_heals_its_site_once_and_a_hot_reading_runs_the_user_playbook_once(tmp_path, start_emulator, start_rulebook):
    emulator = start_emulator(**SEED)
    state = emulator.state(devices=True)
    site = _site(state)
    for slug in site["degraded"]:
        emulator.admin("POST", f"ct/boxes/{slug}", {"state": "splash_only"})
    decoy = next(box["slug"] for box in site["other_boxes"] if box["state"] == "online")
    emulator.admin("POST", f"ct/boxes/{decoy}", {"state": "splash_only"})  # rebootable, but at a site nobody flips

    devices = state["devices"]
    flipped = next(device for device in devices if device["connection"]["status"] and device["type"]["key"] != "temperature_sensor")
    sensor = next(device for device in devices if device["type"]["key"] == "temperature_sensor")
    other_entity = next(device["entity"] for device in devices if device["entity"]["id"] != flipped["entity"]["id"])

    cert, key = self_signed_certificate(tmp_path / "tls")
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    variables = {
        # by entity id for the flipped device's entity, by name for the decoy: both spellings are honoured
        "heal_location_map": {flipped["entity"]["id"]: site["name"], other_entity["name"]: site["other_name"]},
        "heal_wait_timeout": 120,
        "temperature_above": 30,
        "threshold_playbook": str(EDA_DIR / "playbooks" / "record_threshold.yml"),
        "webhook_host": "127.0.0.1",
        "webhook_port": 0,
        "webhook_certfile": str(cert),
        "webhook_keyfile": str(key),
        "webhook_header_name": "X-Cthings-Token",
        "cthings_poll_interval": 0.5,
    }
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}), encoding="utf-8")
    env = clean_environment(tmp_path)
    env.update(emulator.environment(tmp_path / "tokens" / "tokens.json"))
    env["CTCLOUD_EDA_ALERTS"] = str(alerts)
    env["CTHINGS_WEBHOOK_HEADER_VALUE"] = WEBHOOK_TOKEN  # from the environment, as an EDA credential injects it
    rulebook = start_rulebook(["--rulebook", "ctcloud.cloud.heal_site", "--inventory", "inventory.yml", "--vars", "vars.yml",
                               "--print-events", "--verbose"], env)
    port = int(wait_for("the webhook listener", lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", rulebook.output()), process=rulebook).group(1))
    wait_for("the poller's baseline", lambda: _polls(emulator) >= 2, process=rulebook)

    emulator.admin("POST", "cthings/webhook", {"url": f"https://127.0.0.1:{port}/cthings", "header_name": "X-Cthings-Token",
                                               "header_value": WEBHOOK_TOKEN, "ca_file": str(cert)})
    deliveries = [
        {"device_id": sensor["id"], "values": {"temperature": 41.0}, "credentials": "none"},
        {"device_id": sensor["id"], "values": {"temperature": 42.0}, "credentials": "wrong"},
        {"raw": '{"uuid": "' + sensor["id"] + '", "data": '},
        {"body": {"uuid": sensor["id"], "name": sensor["name"], "device": sensor["device"], "dtm": "2026-12-06T10:00:00", "data": {}}},
        {"device_id": sensor["id"], "values": {"temperature": 21.5}},  # below the threshold: an event, no run
        {"device_id": sensor["id"], "values": {"temperature": 35.0}},  # above: the user playbook runs
        {"device_id": sensor["id"], "values": {"temperature": 36.0}},  # above again within the throttle window: no second run
    ]
    answers = [emulator.admin("POST", "cthings/webhook/send", delivery) for delivery in deliveries]
    assert [answer["status"] for answer in answers] == [401, 401, 400, 400, 200, 200, 200], answers
    wait_for("the user playbook", lambda: list(alerts.iterdir()), process=rulebook)

    emulator.admin("POST", f"cthings/devices/{flipped['id']}/connection", {"status": False})
    wait_for("the remediation run", lambda: rulebook.count(r"PLAY RECAP") >= 2 and HEAL_PLAY in rulebook.output(), process=rulebook)
    polls = _polls(emulator)
    wait_for("three more polls with the device still offline", lambda: _polls(emulator) >= polls + 3, process=rulebook)
    rulebook.stop()
    output = rulebook.output()

    # One remediation run, one user playbook run, for exactly the events that should have been emitted.
    assert output.count(HEAL_PLAY) == 1, output[-4000:]
    assert output.count(ALERT_PLAY) == 1, output[-4000:]
    assert output.count("'type': 'reading'") == 3  # the 401s and 400s emitted nothing
    assert output.count("'type': 'offline'") == 1
    recorded = [json.loads(path.read_text(encoding="utf-8")) for path in alerts.iterdir()]
    assert len(recorded) == 1
    assert recorded[0]["event"]["device_id"] == sensor["id"]
    assert recorded[0]["event"]["readings"]["temperature"]["value"] == 35.0
    assert (recorded[0]["reading"], recorded[0]["above"]) == ("temperature", 30)

    # Exactly the mapped site's boxes that were not online and could be rebooted; the others untouched, and said so.
    after = {box["slug"]: box for box in emulator.state()["boxes"]}
    assert emulator.stats()["writes"]["boxes"]["PATCH"] == len(site["degraded"])
    assert all(after[slug]["state"] == "online" and after[slug]["uptime_seconds"] < 3600 for slug in site["degraded"])
    assert after[decoy]["state"] == "splash_only"
    before = {box["slug"]: box for box in site["boxes"]}
    assert all(after[slug]["state"] == before[slug]["state"] for slug in site["not_rebootable"] + site["kept_online"])
    report = re.search(r"went offline\): rebooted (\d+) .*?; skipped (\d+) (.*?); (\d+) online boxes left alone", output)
    assert report, output[-4000:]
    assert (int(report.group(1)), int(report.group(2)), int(report.group(4))) == (2, len(site["not_rebootable"]), len(site["kept_online"]))
    assert all(slug in report.group(3) for slug in site["not_rebootable"])

    # Secrets of the clouds and of the webhook never reach the output.
    for secret in (WEBHOOK_TOKEN, emulator.cthings["client_secret"], emulator.ct["client_secret"], emulator.ct["refresh_token"]):
        assert secret not in output
