# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ctcloud.cloud.eda_heal_location outside EDA, as docs/event-driven.md shows it: a dry run, and an unmapped entity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rulebook_testing import clean_environment

SEED = {"locations": 4, "boxes": 12, "devices": 12, "seed": 7, "reboot_delay": 0.2}


def _playbook(tmp_path: Path, emulator, extra_vars: dict, *arguments: str) -> str:
    env = clean_environment(tmp_path)
    env.update(emulator.environment(tmp_path / "tokens" / "tokens.json"))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "ctcloud.cloud.eda_heal_location", "-e", json.dumps(extra_vars), *arguments]
    done = subprocess.run(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done.stdout


def test_check_mode_plans_the_reboots_and_sends_none(tmp_path, start_emulator):
    emulator = start_emulator(**SEED)
    boxes = emulator.state()["boxes"]
    site = max({box["location_slug"] for box in boxes if box["location_slug"]}, key=lambda slug: sum(b["location_slug"] == slug for b in boxes))
    degraded = next(box["slug"] for box in boxes if box["location_slug"] == site and box["state"] == "online")
    emulator.admin("POST", f"ct/boxes/{degraded}", {"state": "splash_only"})
    output = _playbook(tmp_path, emulator, {"heal_location_map": {"Northgate Estates": site}, "heal_event": {"entity_name": "Northgate Estates"}},
                       "--check", "--diff")
    assert f"would reboot 1 ['{degraded}']" in output
    assert emulator.stats()["writes_total"] == 0


def test_an_entity_without_a_location_ends_the_play_and_reads_nothing_from_ct(tmp_path, start_emulator):
    emulator = start_emulator(**SEED)
    output = _playbook(tmp_path, emulator, {"heal_location_map": {"Northgate Estates": "Anywhere"},
                                            "heal_event": {"entity_name": "Acme Facilities", "entity_id": "x", "device_name": "Lobby Sensor"}})
    assert "No CT location is mapped to cThings entity Acme Facilities (x), device Lobby Sensor: nothing to reboot." in output
    assert emulator.stats()["hosts"]["ct_api"] == 0
