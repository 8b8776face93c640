# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 14: on a local connection the modules run inside Ansible's worker process; anywhere else as ever.

Every host here runs its modules with an interpreter that notes each start of a Python
process in a file of its own (``recording_interpreter``): a module that ran in the worker
process started none. The host ``jumphost`` stands for a remote host (a jump host that alone
reaches the API) through the ``pretend_remote`` connection, which runs commands on this
machine like ``local`` but is not ``local``, so no SSH is needed.

Proved here with real ansible-playbook runs against the emulator:

- the same tasks give the same results both ways (values, changed, diff, warnings, failures),
  while only the non-local host starts module processes;
- ``delegate_to`` a non-local host runs the module there (the remote fallback), ``delegate_to:
  localhost`` from such a host runs it in the worker;
- the ``environment:`` keyword reaches the module and only its own task (or loop item);
- ``become``, ``async`` and ``ctcloud_in_process: false`` take the module-process path on a
  local connection too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ctsystem.collection import CONNECTION_PLUGINS

MODULE_DEFAULTS = {"group/ctcloud.cloud.ct": "{{ ct_conn }}", "group/ctcloud.cloud.cthings": "{{ cthings_conn }}"}
PRETEND_REMOTE = {"ANSIBLE_CONNECTION_PLUGINS": str(CONNECTION_PLUGINS)}


def recording_interpreter(tmp_path: Path, name: str) -> Path:
    """A Python that appends a line to ``<name>.starts`` whenever it starts (a module process)."""
    wrapper = tmp_path / f"python-{name}"
    wrapper.write_text(f"#!/bin/sh\necho started >> '{tmp_path / f'{name}.starts'}'\nexec '{sys.executable}' \"$@\"\n", encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def process_starts(tmp_path: Path, name: str) -> int:
    starts = tmp_path / f"{name}.starts"
    return len(starts.read_text(encoding="utf-8").splitlines()) if starts.is_file() else 0


def write_hosts(tmp_path: Path) -> Path:
    """``nearhost`` (local connection) and ``jumphost`` (pretend_remote), each with its recording interpreter."""
    hosts = {
        "nearhost": {"ansible_connection": "local", "ansible_python_interpreter": str(recording_interpreter(tmp_path, "nearhost"))},
        "jumphost": {"ansible_connection": "pretend_remote", "ansible_python_interpreter": str(recording_interpreter(tmp_path, "jumphost"))},
    }
    path = tmp_path / "hosts.yml"
    path.write_text(json.dumps({"all": {"hosts": hosts}}, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def write_playbook(tmp_path: Path, plays: list[dict[str, Any]], name: str = "playbook.yml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(plays, indent=1), encoding="utf-8")
    return path


# Assigned by the server to each host's own location; everything else must be equal.
SERVER_ASSIGNED = frozenset(("id", "slug", "created_at", "updated_at"))


def comparable(result: dict[str, Any], host: str) -> Any:
    """A host's task result without its own name (in its location's name) and without server-assigned fields."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in SERVER_ASSIGNED}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return strip(json.loads(json.dumps(result).replace(host, "HOST")))


def test_the_same_tasks_give_the_same_results_in_the_worker_and_as_module_processes(emulator, ansible, tmp_path, token_store, scenario_vars):
    device = emulator.state(devices=True)["devices"][0]
    box = emulator.state()["boxes"][0]
    site = {"name": "Depot {{ inventory_hostname }}", "address": "1 Quay", "town": "Porttown", "postcode": "PT1 1AA", "country": "gb"}
    tasks = [
        {"name": "Read one device", "ctcloud.cloud.cthings_device_info": {"id": device["id"]}},
        {"name": "Plan a location", "ctcloud.cloud.ct_location": site, "check_mode": True, "diff": True},
        {"name": "Create it", "ctcloud.cloud.ct_location": site, "diff": True},
        {"name": "Declare it again", "ctcloud.cloud.ct_location": site, "diff": True},
        {"name": "Read it", "ctcloud.cloud.ct_location_info": {"name": site["name"]}},
        {"name": "Option and alias both set", "ctcloud.cloud.ct_box_info": {"mac": box["mac"], "calledstationid": box["mac"]}},
        {"name": "A malformed id", "ctcloud.cloud.cthings_device_info": {"id": "not-a-uuid"}, "ignore_errors": True},
        {"name": "An unknown option", "ctcloud.cloud.ct_location_info": {"colour": "red"}, "ignore_errors": True},
        {"name": "A wrong secret", "ignore_errors": True, "ctcloud.cloud.cthings_device_info": {
            "client_secret": "wrong-{{ inventory_hostname }}-secret", "token_store": "{{ cthings_conn.token_store }}.{{ inventory_hostname }}"}},
    ]
    playbook = write_playbook(tmp_path, [{"name": "Both ways", "hosts": "nearhost,jumphost", "gather_facts": False,
                                          "module_defaults": MODULE_DEFAULTS, "tasks": tasks}])
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), inventory=write_hosts(tmp_path), env=PRETEND_REMOTE).check()

    assert process_starts(tmp_path, "nearhost") == 0  # every module of the local host ran in the worker process
    assert process_starts(tmp_path, "jumphost") == len(tasks)  # one module process per task on the other host
    for task in tasks:
        near, far = run.one(task["name"], "nearhost"), run.one(task["name"], "jumphost")
        assert near.status == far.status, (task["name"], near.result, far.result)
        assert comparable(near.result, "nearhost") == comparable(far.result, "jumphost"), task["name"]
    near = {task["name"]: run.one(task["name"], "nearhost") for task in tasks}
    assert near["Read one device"].result["devices"][0]["id"] == device["id"]
    assert near["Plan a location"].result["changed"] is True and near["Plan a location"].result["diff"]["before_header"] == "(absent)"
    assert near["Create it"].result["changed"] is True
    assert near["Declare it again"].result["changed"] is False
    assert len(near["Read it"].result["locations"]) == 1
    assert "Both option mac and its alias calledstationid are set." in json.dumps(near["Option and alias both set"].result["warnings"])
    assert near["A malformed id"].failed and "id" in near["A malformed id"].msg
    assert near["An unknown option"].failed and "colour" in near["An unknown option"].msg
    assert near["A wrong secret"].failed and "invalid_client" in near["A wrong secret"].msg
    assert "wrong-nearhost-secret" not in run.text()
    stats = emulator.stats()
    assert stats["writes"]["locations"]["POST"] == 2, stats  # one location per host, created once


def test_delegating_to_a_non_local_host_runs_the_module_there_and_to_localhost_in_the_worker(emulator, ansible, tmp_path, token_store, scenario_vars):
    device = emulator.state(devices=True)["devices"][1]
    read = {"ctcloud.cloud.cthings_device_info": {"id": device["id"]}, "register": "read"}
    plays = [
        {"name": "From the local host", "hosts": "nearhost", "gather_facts": False, "module_defaults": MODULE_DEFAULTS, "tasks": [
            {"name": "Through the jump host", **read, "delegate_to": "jumphost"},
            {"name": "It is the device", "ansible.builtin.assert": {"that": [f"read.devices | map(attribute='id') == ['{device['id']}']"]}},
        ]},
        {"name": "From the jump host", "hosts": "jumphost", "gather_facts": False, "module_defaults": MODULE_DEFAULTS, "tasks": [
            {"name": "On the controller", **read, "delegate_to": "localhost"},
            {"name": "It is the device too", "ansible.builtin.assert": {"that": [f"read.devices | map(attribute='id') == ['{device['id']}']"]}},
        ]},
    ]
    emulator.reset(data=False, counters=True)
    run = ansible.playbook(write_playbook(tmp_path, plays), scenario_vars(emulator, token_store), inventory=write_hosts(tmp_path),
                           env=PRETEND_REMOTE).check()
    assert run.one("Through the jump host").status == "ok"
    assert run.one("On the controller").status == "ok"
    assert process_starts(tmp_path, "jumphost") == 1  # only the task delegated to it started a module process
    assert process_starts(tmp_path, "nearhost") == 0
    stats = emulator.stats()
    assert stats["requests"]["GET /cthings-api/v3/device/<device_id>"] == 2, stats
    assert sum(stats["token_requests"]["cthings"].values()) == 1, stats  # both ways share the token store


def test_the_environment_keyword_reaches_the_module_and_leaves_with_its_task(emulator, ansible, tmp_path, token_store):
    device = emulator.state(devices=True)["devices"][2]
    credentials = emulator.environment(token_store)
    tasks = [
        {"name": "Credentials from the task environment", "ctcloud.cloud.cthings_device_info": {"id": device["id"]},
         "environment": credentials},
        {"name": "One loop item with them, one without", "ctcloud.cloud.cthings_device_info": {"id": device["id"]},
         "environment": "{{ {'with': credentials, 'without': {}}[item] }}", "loop": ["with", "without", "with"], "ignore_errors": True,
         "vars": {"credentials": credentials}},
        {"name": "A later task without them", "ctcloud.cloud.cthings_device_info": {"id": device["id"]}, "ignore_errors": True},
    ]
    playbook = write_playbook(tmp_path, [{"name": "Environment", "hosts": "nearhost", "gather_facts": False, "tasks": tasks}])
    run = ansible.playbook(playbook, inventory=write_hosts(tmp_path))
    assert run.one("Credentials from the task environment").result["devices"][0]["id"] == device["id"]
    items = run.one("One loop item with them, one without").result["results"]
    # The loop runs in one worker process: the second item must not see the first one's environment, nor the third the second's.
    outcomes = [("devices" in item, "CTHINGS_CLIENT_ID" in str(item.get("msg"))) for item in items]
    assert outcomes == [(True, False), (False, True), (True, False)], items
    assert run.one("A later task without them").failed
    assert "CTHINGS_CLIENT_ID" in run.one("A later task without them").msg
    assert process_starts(tmp_path, "nearhost") == 0


def test_become_async_and_ctcloud_in_process_false_run_a_local_task_as_a_module_process(emulator, ansible, tmp_path, token_store, scenario_vars):
    device = emulator.state(devices=True)["devices"][3]
    read = {"ctcloud.cloud.cthings_device_info": {"id": device["id"]}}
    ways = {
        "in_the_worker": {},
        # become to the user Ansible runs as: the module must run through become, which ansible-core then skips as needless
        "become": {"become": True, "become_user": "{{ lookup('ansible.builtin.pipe', 'id -un') }}"},
        "async": {"async": 60, "poll": 1},
        "opted_out": {"vars": {"ctcloud_in_process": False}},
    }
    tasks = []
    for way, keywords in ways.items():
        interpreter = {"ansible_python_interpreter": str(recording_interpreter(tmp_path, way))}
        tasks.append({"name": way, **read, **keywords, "vars": {**keywords.get("vars", {}), **interpreter}})
    playbook = write_playbook(tmp_path, [{"name": "Ways out", "hosts": "nearhost", "gather_facts": False, "module_defaults": MODULE_DEFAULTS,
                                          "tasks": tasks}])
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), inventory=write_hosts(tmp_path)).check()
    for way in ways:
        assert run.one(way).result["devices"][0]["id"] == device["id"], way
    assert process_starts(tmp_path, "in_the_worker") == 0
    for way in ("become", "async", "opted_out"):
        assert process_starts(tmp_path, way) >= 1, way  # async also starts async_status's processes
