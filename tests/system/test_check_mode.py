# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 3: check mode writes nothing, and what it predicts is what the real run then does.

Every module that exists runs its steps (create, update, archive, delete, read...)
in one playbook against one emulator. Each step is the same task twice: first with
``check_mode: true`` and ``diff: true``, then for real with ``diff: true``; the
emulator's write counters are read (through /_admin, which is never counted) after
every task by the capture_results callback. Asserted per step:

- the check-mode task wrote nothing (``writes_total`` unchanged; for ``ct_auth`` no
  code was exchanged: the real task then exchanges the very same single-use code);
- its ``changed`` equals the real task's;
- its result and diff equal the real task's, except for what only the server can
  know, listed in ``SERVER_ASSIGNED`` and ``RUNTIME_ONLY`` with the reason; when an
  object is created, an option the user did not set is predicted as null or as
  ``(known after create)`` and the real object holds the server's default there (the
  contract does not promise defaults such as ``daily_limit`` or ``timezone``, so check
  mode cannot know them).

A second test runs the whole scenario playbook with ``--check`` on the command
line: zero writes, state unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from ctsystem.collection import (
    ALL_MODULES,
    INVENTORY_PLUGINS,
    PLAYBOOKS,
    collection_root,
    has_module,
    has_plugin,
    present_modules,
    unpromised_modules,
)
from ctsystem.evidence import comparable_state

# Fields check mode cannot know, per result path, and why:
# - id, slug (locations), unique_id (vouchers): assigned by the server when the object is created; a location's
#   slug also when it is renamed (the dashboard's CT derives it from the name; check mode shows it unknown);
# - created_at, updated_at: the server's clock at the write;
# - csv_link, pdf_link: derived from unique_id, and null until the codes are generated;
# - completed (vouchers): the real run waits until the server has generated the codes (wait: true);
#   check mode does not wait and predicts a new batch as not yet completed, as documented;
# - expires_at (ct_auth): the lifetime of the token the exchange returns;
# - seconds_to_online, back_online (ct_box_reboot): measured while waiting for the box;
# - last_heartbeat, uptime_seconds (boxes): reported by a box that rebooted.
SERVER_ASSIGNED = frozenset(
    ("id", "slug", "unique_id", "created_at", "updated_at", "csv_link", "pdf_link", "completed", "expires_at", "seconds_to_online",
     "back_online", "last_heartbeat", "uptime_seconds")
)
# Per module: result paths ("*" = every list item) that are facts of the real run only, as documented.
RUNTIME_ONLY = {
    "ct_box_reboot": (
        ("boxes", "*", "rebooted"),  # "Whether the API accepted the reboot. Always false in check mode."
        ("msg",),  # "what was done, or in check mode what would be": it says "Would reboot" on purpose
    ),
    "ct_auth": (("state",), ("authorize_url",)),  # step 1: a fresh random state each run, and the URL carries it
}
# How a check-mode diff may show a field of an object to be created that only the server will decide (engine.py).
KNOWN_AFTER_CREATE = "(known after create)"
# Result keys Ansible adds or that describe the invocation, not the outcome.
NOT_OUTCOME = frozenset(("invocation", "_ansible_no_log", "warnings", "deprecations", "diff"))


@dataclass
class Step:
    module: str
    label: str
    args: dict[str, Any]
    changed: bool
    diff: bool = True  # the module supports diff mode (ct_auth declares none: its change is a token in the store)

    @property
    def name(self) -> str:
        return f"{self.module} {self.label}"


NEW_SITE = {"name": "Check Mode Corner Shop", "address": "7 Preview Lane", "town": "Planford", "postcode": "PL1 2AB", "country": "gb", "latitude": 51.5,
            "longitude": -0.12, "timezone": "Europe/London"}
DAY_PASS = {"batch_name": "Check mode passes", "description": "Planned, then made", "quantity": 10, "access_type": "time",
            "validity_minutes": 60, "session_timeout": 30, "code_length": 6, "splash_page_id": "external", "wait_timeout": 60}


def steps(inputs: dict[str, Any]) -> list[Step]:
    """Every step of every module; ``inputs`` are facts of the seeded emulator."""
    location, boxed, device = inputs["location"], inputs["boxed_location"], inputs["device_id"]
    return [
        Step("ct_location", "create", NEW_SITE, True),
        Step("ct_location", "update", {"name": NEW_SITE["name"], "postcode": "PL1 2AC", "phone": "+44 1632 960123"}, True),
        Step("ct_location", "no change", {"name": NEW_SITE["name"], "postcode": "PL1 2AC"}, False),
        Step("ct_location", "archive", {"name": NEW_SITE["name"], "state": "archived"}, True),
        Step("ct_location", "restore", {"name": NEW_SITE["name"], "state": "present"}, True),
        Step("ct_location", "rename", {"id": location["id"], "name": f"{location['location_name']} Renamed"}, True),
        Step("ct_location", "delete", {"name": NEW_SITE["name"], "state": "absent"}, True),
        Step("ct_locations", "create, update and archive", {"locations": [
            {"name": "Check Mode Depot", "address": "1 Depot Road", "town": "Planford", "postcode": "PL2 3CD", "country": "gb"},
            {"id": location["id"], "website": "https://example.org/check-mode"},
            {"id": inputs["archived_location_id"], "state": "archived"},
        ]}, True),
        Step("ct_locations", "same set again", {"locations": [
            {"name": "Check Mode Depot", "address": "1 Depot Road", "town": "Planford", "postcode": "PL2 3CD", "country": "gb"},
            {"id": location["id"], "website": "https://example.org/check-mode"},
            {"id": inputs["archived_location_id"], "state": "archived"},
        ]}, False),
        Step("ct_locations", "delete one", {"locations": [{"name": "Check Mode Depot", "state": "absent"}]}, True),
        Step("ct_location_info", "search", {"q": location["town"]}, False),
        Step("ct_voucher", "create", {"location": location["id"], **DAY_PASS}, True),
        Step("ct_voucher", "deactivate", {"location": location["id"], "batch_name": DAY_PASS["batch_name"], "active": False}, True),
        Step("ct_voucher", "no change", {"location": location["id"], "batch_name": DAY_PASS["batch_name"], "active": False}, False),
        Step("ct_voucher", "delete", {"location": location["id"], "batch_name": DAY_PASS["batch_name"], "state": "absent"}, True),
        Step("ct_voucher_info", "list", {"location": location["id"]}, False),
        Step("ct_box_reboot", "reboot a location's boxes", {"location": [boxed], "batch_size": 1, "wait": True, "wait_timeout": 60}, True),
        Step("ct_box_info", "list a location's boxes", {"location": boxed}, False),
        Step("cthings_device_info", "list", {"active": True}, False),
        Step("cthings_device_info", "one with readings", {"id": device, "readings": True, "from": "2023-11-01T00:00:00",
                                                          "to": "2023-11-01T12:00:00"}, False),
        Step("ct_auth", "authorize URL", {"redirect_uri": inputs["redirect_uri"], "token_store": inputs["auth_store"]}, True, diff=False),
        Step("ct_auth", "exchange a code", {"redirect_uri": inputs["redirect_uri"], "code": inputs["code"],
                                            "token_store": inputs["auth_store"]}, True, diff=False),
    ]


def playbook_for(selected: list[Step]) -> list[dict[str, Any]]:
    """The generated playbook (JSON is YAML): per step, the check-mode task, then the real one."""
    tasks = []
    for step in selected:
        module = {f"ctcloud.cloud.{step.module}": step.args}
        tasks += [
            {"name": f"{step.name}: check", **module, "check_mode": True, "diff": True},
            {"name": f"{step.name}: real", **module, "check_mode": False, "diff": True},
        ]
    return [{
        "name": "Check mode against the real run, step by step",
        "hosts": "targets",
        "gather_facts": False,
        "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}", "group/ctcloud.cloud.cthings": "{{ cthings_conn }}"},
        "tasks": tasks,
    }]


def without_server_assigned(data: Any, creating: bool, renaming: bool = False) -> Any:
    """``data`` without what only the server knows (identity fields only when the object is being created; the slug
    when it is renamed)."""
    if isinstance(data, dict):
        dropped = SERVER_ASSIGNED if creating else SERVER_ASSIGNED - {"id", "slug", "unique_id"} | ({"slug"} if renaming else set())
        return {key: without_server_assigned(value, creating, renaming) for key, value in data.items() if key not in dropped}
    if isinstance(data, list):
        return [without_server_assigned(item, creating, renaming) for item in data]
    return data


def without_path(data: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return data
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(data, list):
        return [without_path(item, rest) for item in data]
    if isinstance(data, dict):
        if not rest:
            return {key: value for key, value in data.items() if key != head}
        return {key: without_path(value, rest) if key == head else value for key, value in data.items()}
    return data


def predicted_mismatches(predicted: Any, actual: Any, creating: bool, where: str = "") -> list[str]:
    """Where the prediction differs from the outcome. Every predicted key must match (the real object may hold more,
    e.g. a created location's counters); when creating, a predicted null is an option the user left to the server."""
    if isinstance(predicted, dict) and isinstance(actual, dict):
        problems = []
        for key, value in predicted.items():
            if key not in actual:
                problems.append(f"{where}.{key}: predicted {value!r}, the real result has no such key")
            else:
                problems += predicted_mismatches(value, actual[key], creating, f"{where}.{key}")
        return problems
    if isinstance(predicted, list) and isinstance(actual, list):
        if len(predicted) != len(actual):
            return [f"{where}: predicted {len(predicted)} items, got {len(actual)}"]
        return [problem for index, (left, right) in enumerate(zip(predicted, actual, strict=True)) for problem in
                predicted_mismatches(left, right, creating, f"{where}[{index}]")]
    if creating and predicted in (None, KNOWN_AFTER_CREATE):
        return []
    return [] if predicted == actual else [f"{where}: predicted {predicted!r}, got {actual!r}"]


def renaming(step: Step) -> bool:
    return step.label.startswith("rename")


def outcome(step: Step, result: dict[str, Any], creating: bool) -> dict[str, Any]:
    kept = without_server_assigned({key: value for key, value in result.items() if key not in NOT_OUTCOME}, creating, renaming(step))
    for path in RUNTIME_ONLY.get(step.module, ()):
        kept = without_path(kept, path)
    return kept


@pytest.fixture
def check_mode_run(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    emulator = start_emulator()
    state = emulator.state(devices=True)
    boxed = sorted({box["location_id"] for box in state["boxes"] if box["location_id"] and box["state"] == "online"})[0]
    active = [location for location in state["locations"] if location["state"] == "active"]
    inputs = {
        "location": active[0],
        "archived_location_id": active[-1]["id"],
        "boxed_location": boxed,
        "device_id": state["devices"][0]["id"],
        "redirect_uri": emulator.ct["redirect_uri"],
        "auth_store": str(tmp_path / "auth" / "tokens.json"),
    }
    # The exchange needs a code whose state a step 1 with the same token store recorded: that step, then the browser's.
    begin = tmp_path / "begin_auth.yml"
    begin.write_text(json.dumps([{"name": "Step 1", "hosts": "targets", "gather_facts": False,
                                  "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}"},
                                  "tasks": [{"name": "step 1", "ctcloud.cloud.ct_auth": {"redirect_uri": inputs["redirect_uri"],
                                                                                         "token_store": inputs["auth_store"]}}]}]),
                     encoding="utf-8")
    started = ansible.playbook(begin, scenario_vars(emulator, token_store))
    inputs["code"] = emulator.landed_url(started.check().result("step 1")["authorize_url"])
    selected = [step for step in steps(inputs) if has_module(step.module)]
    playbook = tmp_path / "check_mode.yml"
    playbook.write_text(json.dumps(playbook_for(selected), indent=1), encoding="utf-8")
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), stats_url=f"{emulator.admin_url}/stats")
    return run, selected, emulator, before


# Top-level result keys Ansible interprets: a module returning one with another meaning changes how its task is reported
# (a truthy "skipped" list marks the task skipped in the recap and in every callback, "results" is read as loop items...).
RESERVED_RESULT_KEYS = frozenset(("skipped", "failed", "unreachable", "results", "attempts", "item", "censored", "ansible_facts",
                                  "exception", "module_stderr", "module_stdout", "rc", "ansible_loop_var"))


@pytest.mark.parametrize("module", [name for name in ALL_MODULES if has_module(name)])
def test_no_module_returns_a_key_ansible_reserves(module):
    text = (collection_root() / "plugins" / "modules" / f"{module}.py").read_text(encoding="utf-8")
    returned = yaml.safe_load(re.search(r'^RETURN = r?"""(.*?)^"""', text, re.S | re.M).group(1)) or {}
    assert sorted(set(returned) & RESERVED_RESULT_KEYS) == []


def test_every_promised_plugin_is_in_the_collection():
    """The suites pass over a module or plugin that is missing (they ran while the collection grew): now that all
    have landed, a missing one fails here instead of shrinking the coverage quietly."""
    assert collection_root() is not None, "ANSIBLE_COLLECTIONS_PATH does not lead to ctcloud.cloud"
    assert [name for name, present in present_modules().items() if not present] == []
    assert [name for name in INVENTORY_PLUGINS if not has_plugin("inventory", name)] == []


def test_every_promised_module_is_known_to_this_suite():
    """A module added later without a step here would escape the check-mode test: name it."""
    assert unpromised_modules() == []
    assert set(ALL_MODULES) == {step.module for step in steps({
        "location": {"id": "1", "town": "x", "location_name": "y"}, "archived_location_id": "2", "boxed_location": "3", "device_id": "d", "redirect_uri": "r",
        "code": "c", "auth_store": "s"})}


@pytest.mark.both_dialects
def test_check_mode_writes_nothing_and_predicts_the_real_run(check_mode_run):
    run, selected, emulator, before = check_mode_run
    run.check()
    problems = []
    for step in selected:
        checked = run.one(f"{step.name}: check")
        real = run.one(f"{step.name}: real")
        after = checked.emulator_stats
        if after["writes_total"] != before["writes_total"]:
            problems.append(f"{step.name}: check mode wrote {after['writes']} (before {before['writes']})")
        if after["token_requests"]["ct"]["authorization_code"] != before["token_requests"]["ct"]["authorization_code"]:
            problems.append(f"{step.name}: check mode exchanged the authorization code")
        if checked.status != "ok" or real.status != "ok":
            problems.append(f"{step.name}: check {checked.status}, real {real.status}: {checked.msg or real.msg}")
            continue
        if checked.result.get("changed") != step.changed or real.result.get("changed") != step.changed:
            problems.append(f"{step.name}: changed is {checked.result.get('changed')} in check mode, {real.result.get('changed')} for real; "
                            f"expected {step.changed}")
        before = real.emulator_stats
        creating = step.label.startswith("create") or "exchange" in step.label
        problems += [f"{step.name}: result{problem}" for problem in
                     predicted_mismatches(outcome(step, checked.result, creating), outcome(step, real.result, creating), creating)]
        if step.changed and step.diff:
            if "diff" not in checked.result or "diff" not in real.result:
                problems.append(f"{step.name}: no diff (check: {'diff' in checked.result}, real: {'diff' in real.result})")
            else:
                problems += [f"{step.name}: diff{problem}" for problem in predicted_mismatches(
                    without_server_assigned(checked.result["diff"], creating, renaming(step)),
                    without_server_assigned(real.result["diff"], creating, renaming(step)), creating)]
    assert problems == [], "\n".join(problems)
    assert emulator.stats()["token_errors"] == {}


@pytest.mark.both_dialects
def test_the_scenario_with_check_on_the_command_line_writes_nothing(emulator, ansible, token_store, scenario_vars):
    """``--check --diff`` before and after the scenario is applied: no write either time; once applied, only the reboot
    (which always reboots) reports a change."""
    state = emulator.state(devices=True)
    boxed = sorted({box["location_id"] for box in state["boxes"] if box["location_id"]})[0]
    extra_vars = scenario_vars(emulator, token_store, reboot_location_id=boxed, device_id=state["devices"][0]["id"])
    before = comparable_state(state)

    # Fresh: tasks that need what an earlier task would have created may fail (nothing was created); nothing is written.
    ansible.playbook(PLAYBOOKS / "scenario.yml", extra_vars, check=True, diff=True)
    assert emulator.stats()["writes_total"] == 0, emulator.stats()["writes"]
    assert comparable_state(emulator.state(devices=True)) == before

    ansible.playbook(PLAYBOOKS / "scenario.yml", extra_vars).check()
    applied = comparable_state(emulator.state(devices=True))
    emulator.reset(data=False, counters=True)
    planned = ansible.playbook(PLAYBOOKS / "scenario.yml", extra_vars, check=True, diff=True).check()
    stats = emulator.stats()
    assert stats["writes_total"] == 0, stats["writes"]
    assert stats["token_errors"] == {}
    changed = sorted({result.action for result in planned.results if result.action.startswith("ctcloud.") and result.result.get("changed")})
    assert changed == (["ctcloud.cloud.ct_box_reboot"] if has_module("ct_box_reboot") else [])
    after = comparable_state(emulator.state(devices=True))
    assert after == applied
