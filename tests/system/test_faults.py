# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 1: the whole scenario under 20 % injected 429/503 ends exactly where a fault-free run ends.

Two emulators with the same seed: one without faults, one answering a seeded 20 %
of API requests with 429 (Retry-After: 0, so the suite stays fast; the client
honours larger values, see the unit tests) or 503. The same scenario playbook and
the same inventory sources run against both. The state dumps must be equal by
content (only the fields listed in ctsystem.evidence.VOLATILE_FIELDS are
ignored), with no location or voucher batch twice, and the faulty run must finish
within a generous bound.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from ctsystem.ansible_run import Ansible
from ctsystem.collection import PLAYBOOKS, has_plugin
from ctsystem.evidence import comparable_state, duplicates, state_differences

FAULTS = {"fault_rate": 0.2, "fault_statuses": "429,503", "retry_after": 0}
# The fault-free scenario takes ~10 s here; backoff after a 503 is at most 0.5 + 1 + 2 ... s per request,
# and consecutive faults are rare at 20 %. A run stuck in retries would blow far past this.
FAULTY_RUN_BOUND = 150.0
# Host variables that depend on when a box was rebooted, not on what was done (see VOLATILE_FIELDS).
VOLATILE_HOSTVARS = ("ct_box_last_heartbeat", "ct_box_uptime_seconds")


def scenario_inputs(state: dict[str, Any]) -> dict[str, Any]:
    """The location whose boxes get rebooted (the one with most boxes) and a device to read."""
    by_location: dict[str, int] = {}
    for box in state["boxes"]:
        if box["location_id"]:
            by_location[box["location_id"]] = by_location.get(box["location_id"], 0) + 1
    reboot_location_id = max(sorted(by_location), key=lambda location_id: by_location[location_id])
    return {"reboot_location_id": reboot_location_id, "device_id": state["devices"][0]["id"]}


def inventory_sources(tmp_path: Path) -> list[Path]:
    sources = []
    for plugin, config in (("ct_boxes", "boxes.ct_boxes.yml"), ("cthings", "devices.cthings.yml")):
        if has_plugin("inventory", plugin):
            sources.append(PLAYBOOKS / "inventory" / config)
    return sources


def comparable_inventory(text: str) -> dict[str, Any]:
    inventory = json.loads(text)
    for hostvars in inventory.get("_meta", {}).get("hostvars", {}).values():
        for name in VOLATILE_HOSTVARS:
            hostvars.pop(name, None)
    return inventory


def run_everything(emulator, workdir, scenario_vars, inputs, sources, outcome):
    """The scenario playbook, then the inventory sources; results go into ``outcome`` (runs in a thread)."""
    ansible = Ansible(workdir / "ansible")
    token_store = workdir / "private" / "tokens.json"
    outcome["playbook"] = ansible.playbook(PLAYBOOKS / "scenario.yml", scenario_vars(emulator, token_store, **inputs))
    if sources:
        outcome["inventory"] = ansible.inventory(sources, env=emulator.environment(token_store))
    outcome["state"] = emulator.state(devices=True)
    outcome["stats"] = emulator.stats()


@pytest.mark.both_dialects
def test_scenario_under_20_percent_faults_ends_in_the_fault_free_state(start_emulator, tmp_path, scenario_vars):
    clean = start_emulator()
    faulty = start_emulator(**FAULTS)
    inputs = scenario_inputs(clean.state(devices=True))
    sources = inventory_sources(tmp_path)
    outcomes: dict[str, dict[str, Any]] = {"clean": {}, "faulty": {}}
    # Both runs at once: the faulty one mostly waits, so this costs little more than the faulty run alone.
    threads = [
        threading.Thread(target=run_everything, args=(emulator, tmp_path / name, scenario_vars, inputs, sources, outcomes[name]))
        for name, emulator in (("clean", clean), ("faulty", faulty))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FAULTY_RUN_BOUND + 120)
    assert not any(thread.is_alive() for thread in threads), "a scenario run did not end"

    clean_run, faulty_run = outcomes["clean"]["playbook"], outcomes["faulty"]["playbook"]
    for run in (clean_run, faulty_run):
        run.check()
        # Every module task ran and reported success (a result key Ansible reserves, such as 'skipped', would show here).
        not_ok = [(result.task, result.status) for result in run.results if result.action.startswith("ctcloud.cloud.") and result.status != "ok"]
        assert not_ok == [], not_ok
    assert outcomes["faulty"]["stats"]["faults"]["429"] > 0, outcomes["faulty"]["stats"]
    assert outcomes["faulty"]["stats"]["faults"]["503"] > 0, outcomes["faulty"]["stats"]
    assert outcomes["clean"]["stats"]["faults"] == {"429": 0, "503": 0}

    differences = state_differences(comparable_state(outcomes["clean"]["state"]), comparable_state(outcomes["faulty"]["state"]))
    assert differences == [], "\n".join(differences)
    assert duplicates(outcomes["faulty"]["state"]) == []
    # The scenario really did write: otherwise equal states would prove nothing.
    assert outcomes["faulty"]["stats"]["writes"]["locations"]["POST"] == 2 + 1  # the two declared new sites and the kiosk
    assert faulty_run.elapsed < FAULTY_RUN_BOUND, f"the faulty run took {faulty_run.elapsed:.0f} s"

    if sources:
        for name in ("clean", "faulty"):
            outcomes[name]["inventory"].check()
        assert comparable_inventory(outcomes["clean"]["inventory"].stdout) == comparable_inventory(outcomes["faulty"]["inventory"].stdout)
