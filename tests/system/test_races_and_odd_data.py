# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 18: correct under races and odd-but-valid data.

One test per item of the issue (item 6, the token expiry margin, is issue 13's), each a real
``ansible-playbook`` run against the emulator, counted with its ``/_admin/stats`` and ``/_admin/state``.

The races are made certain, not likely: the module processes of a race run with
``race_hook/sitecustomize.py``, which holds every process about to create the same object until all
of them are there (and, after the create, until all have sent theirs). Without the collection's lock
every racer has then read "missing" before anyone creates; with it, one process creates and waits out
the hook's bound (RACE_TIMEOUT) alone, and the others find its batch. The requests are real; only their
order is arranged. Two "controllers" are two ``ansible-playbook`` processes whose token stores (and so
whose lock directories) differ.
"""

from __future__ import annotations

import json
import re
import stat
import sys
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ctsystem.ansible_run import Ansible
from ctsystem.collection import SYSTEM_DIR

RACE_TIMEOUT = 10  # seconds a racer waits for the others at most (see the module docstring)
BATCH = {"description": "Race day passes", "quantity": 10, "access_type": "time", "validity_minutes": 60, "session_timeout": 60,
         "code_length": 6, "splash_page_id": "external", "wait": False}
SITE = {"address": "1 Race Course Road", "town": "Newmarket", "postcode": "CB8 0XE", "country": "gb"}
BOX_SEARCH_FIELDS = ("description", "calledstationid", "mac", "slug", "serial_number")  # what the emulator's q matches


def write_playbook(path: Path, tasks: list[dict[str, Any]]) -> Path:
    """One play over the inventory's ``targets``, CT connection from ``ct_conn`` (JSON is YAML)."""
    play = {"name": path.stem, "hosts": "targets", "gather_facts": False,
            "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}"}, "tasks": tasks}
    path.write_text(json.dumps([play], indent=1, ensure_ascii=False), encoding="utf-8")
    return path


# The race hook lives in the module processes' interpreter, so the racing modules run as module processes,
# not in the task's worker (issue 14's in-process path would never meet the barrier).
MODULE_PROCESSES = {"ctcloud_in_process": False}


def racing_interpreter(tmp_path: Path, create_path: str, parties: int) -> Path:
    """A Python for the module processes that meet at the race hook's barrier before a POST to ``create_path`` (a regex)."""
    wrapper = tmp_path / "python-racing"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"CTCLOUD_RACE_DIR='{tmp_path / 'race'}' CTCLOUD_RACE_PATH='{create_path}' CTCLOUD_RACE_PARTIES={parties} "
        f"CTCLOUD_RACE_TIMEOUT={RACE_TIMEOUT} PYTHONPATH='{SYSTEM_DIR / 'race_hook'}'${{PYTHONPATH:+:$PYTHONPATH}} "
        f"exec '{sys.executable}' \"$@\"\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper


def at_once(*runs):
    """Start every run (a callable doing one ansible-playbook) at the same time; their results in order."""
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [pool.submit(run) for run in runs]
        return [future.result() for future in futures]


def writes_of(task, before) -> int:
    return task.emulator_stats["writes_total"] - before["writes_total"]


# -- item 1: one batch per name, whatever runs at once -----------------------------------------------------------


def test_forks_creating_the_same_batches_at_once_create_each_once(emulator, ansible, tmp_path, token_store, scenario_vars):
    """Nine hosts (forks 9, each module process on this controller, as with delegate_to: localhost), three batch names."""
    location = emulator.state()["locations"][0]
    hosts = [f"racer{number}" for number in range(1, 10)]
    interpreter = racing_interpreter(tmp_path, r"/locations/[^/]+/vouchers$", parties=3)
    inventory = ansible.write_inventory(tmp_path / "racers.yml", hosts, ansible_python_interpreter=str(interpreter), **MODULE_PROCESSES)
    playbook = write_playbook(tmp_path / "race.yml", [{
        "name": "Create this host's batch",
        "ctcloud.cloud.ct_voucher": {"location": location["id"], "batch_name": "Race {{ inventory_hostname[-1] | int % 3 + 1 }}", **BATCH},
    }])

    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), inventory=inventory, forks=9).check()
    batches = [voucher for voucher in emulator.state()["vouchers"] if voucher["location_id"] == location["id"]]
    assert Counter(batch["batch_name"] for batch in batches if batch["batch_name"].startswith("Race ")) == {"Race 1": 1, "Race 2": 1, "Race 3": 1}
    stats = emulator.stats()
    assert stats["writes"]["vouchers"]["POST"] == 3 and stats["writes"]["vouchers"]["DELETE"] == 0, stats
    results = run.tasks("Create this host's batch")
    assert sorted(result.host for result in results) == hosts and not any(result.failed for result in results)
    assert sum(result.result["changed"] for result in results) == 3
    by_name: dict[str, set[str]] = {}
    for result in results:
        by_name.setdefault(result.result["voucher"]["batch_name"], set()).add(result.result["voucher"]["unique_id"])
        assert result.result["deleted_twins"] == []
    assert {name: len(ids) for name, ids in by_name.items()} == {"Race 1": 1, "Race 2": 1, "Race 3": 1}
    # The lock files: beside the token store, private like it.
    locks = token_store.parent / "locks"
    assert stat.S_IMODE(locks.stat().st_mode) == 0o700
    assert len(list(locks.glob("voucher-*.lock"))) == 3
    assert all(stat.S_IMODE(lock.stat().st_mode) == 0o600 for lock in locks.iterdir())


def test_two_controllers_creating_one_batch_at_once_settle_on_the_older(emulator, tmp_path, scenario_vars):
    """Two controllers (token stores, hence lock directories, of their own) create one name at the same moment: both
    create, both read the name again, and both settle on the older batch; the newer one is deleted by its creator."""
    location = emulator.state()["locations"][1]
    interpreter = racing_interpreter(tmp_path, r"/locations/[^/]+/vouchers$", parties=2)
    task = {"name": "Create the batch", "ctcloud.cloud.ct_voucher": {"location": location["id"], "batch_name": "Twin race", **BATCH}}
    controllers = []
    for name, refresh_token in (("a", emulator.ct["refresh_token"]), ("b", emulator.fresh_refresh_token())):
        ansible = Ansible(tmp_path / f"controller-{name}")
        inventory = ansible.write_inventory(tmp_path / f"controller-{name}.yml", ["localhost"], ansible_python_interpreter=str(interpreter), **MODULE_PROCESSES)
        extra_vars = scenario_vars(emulator, tmp_path / f"store-{name}" / "tokens.json")
        extra_vars["ct_conn"]["refresh_token"] = refresh_token
        controllers.append((ansible, inventory, extra_vars))
    playbook = write_playbook(tmp_path / "twin.yml", [task])

    runs = at_once(*(lambda c=c: c[0].playbook(playbook, c[2], inventory=c[1]) for c in controllers))
    for run in runs:
        run.check()
    results = [run.result("Create the batch") for run in runs]
    batches = [voucher for voucher in emulator.state()["vouchers"] if voucher["batch_name"] == "Twin race"]
    assert len(batches) == 1, batches
    kept = batches[0]["unique_id"]
    assert [result["voucher"]["unique_id"] for result in results] == [kept, kept]
    deleted = [twin for result in results for twin in result["deleted_twins"]]
    assert len(deleted) == 1 and deleted[0] != kept
    loser = next(result for result in results if result["deleted_twins"])
    assert any("another run created voucher batch 'Twin race'" in warning for warning in loser.get("warnings", [])), loser
    stats = emulator.stats()
    assert stats["writes"]["vouchers"]["POST"] == 2 and stats["writes"]["vouchers"]["DELETE"] == 1, stats


# -- item 2: ids of any length ---------------------------------------------------------------------------------


def test_batches_with_sixteen_hex_ids_can_be_addressed_and_their_twins_cleaned_up(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    emulator = start_emulator(voucher_id_length=16)
    location = emulator.state()["locations"][0]["id"]
    batch = {"location": location, **BATCH}
    playbook = write_playbook(tmp_path / "short_ids.yml", [
        {"name": "Create a batch", "ctcloud.cloud.ct_voucher": {**batch, "batch_name": "Short ids"}, "register": "first"},
        {"name": "Create another", "ctcloud.cloud.ct_voucher": {**batch, "batch_name": "Short twin"}, "register": "twin"},
        {"name": "Rename it by id to the first one's name", "ctcloud.cloud.ct_voucher":
            {"location": location, "id": "{{ twin.voucher.unique_id }}", "batch_name": "Short ids", "wait": False}},
        {"name": "The name is ambiguous now", "ctcloud.cloud.ct_voucher": {"location": location, "batch_name": "Short ids", "active": False},
         "ignore_errors": True},
        {"name": "Read the first one by id", "ctcloud.cloud.ct_voucher_info": {"location": location, "id": "{{ first.voucher.unique_id }}"}},
        {"name": "Delete the twin by the id the ambiguity named", "ctcloud.cloud.ct_voucher":
            {"location": location, "id": "{{ twin.voucher.unique_id }}", "state": "absent"}},
        {"name": "Deactivate the one left, by name", "ctcloud.cloud.ct_voucher": {"location": location, "batch_name": "Short ids", "active": False}},
    ])
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store))
    first_id = run.result("Create a batch")["voucher"]["unique_id"]
    twin_id = run.result("Create another")["voucher"]["unique_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", first_id) and re.fullmatch(r"[0-9a-f]{16}", twin_id)
    assert run.one("Rename it by id to the first one's name").status == "ok", run.result("Rename it by id to the first one's name")
    ambiguous = run.one("The name is ambiguous now")
    assert ambiguous.failed and "2 vouchers are named 'Short ids'" in ambiguous.msg
    assert first_id in ambiguous.msg and twin_id in ambiguous.msg
    assert [batch["unique_id"] for batch in run.result("Read the first one by id")["vouchers"]] == [first_id]
    assert run.result("Delete the twin by the id the ambiguity named")["changed"] is True
    assert run.result("Deactivate the one left, by name")["voucher"]["unique_id"] == first_id
    assert run.rc == 0 and [task.task for task in run.failures()] == ["The name is ambiguous now"], run.describe()  # ignore_errors
    left = [voucher for voucher in emulator.state()["vouchers"] if voucher["batch_name"] == "Short ids"]
    assert [(voucher["unique_id"], voucher["is_active"]) for voucher in left] == [(first_id, False)]


# -- item 3: a lagging heartbeat does not make a box rebooted a moment ago look old ------------------------------


def test_a_guarded_rerun_skips_boxes_just_rebooted_though_their_heartbeat_lags(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    """The heartbeat lags an hour behind an uptime counted to now; the guard is half an hour. A box rebooted by the first run
    reads as booted an hour and a few seconds ago by ``last_heartbeat - uptime_seconds``: it must still be skipped."""
    emulator = start_emulator(heartbeat_lag=3600)
    up = [box["slug"] for box in emulator.state()["boxes"] if box["state"] == "online" and box["allowed_job"]]
    assert len(up) >= 2, emulator.state()["boxes"]
    reboot = {"slug": up, "skip_if_rebooted_within": 1800, "wait": True, "wait_timeout": 60}
    playbook = write_playbook(tmp_path / "guarded.yml", [
        {"name": "Reboot the boxes", "ctcloud.cloud.ct_box_reboot": reboot},
        {"name": "Run it again at once", "ctcloud.cloud.ct_box_reboot": reboot},
    ])
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), stats_url=f"{emulator.admin_url}/stats").check()
    first, again = run.one("Reboot the boxes"), run.one("Run it again at once")
    assert sorted(first.result["rebooted"]) == sorted(up) and writes_of(first, before) == len(up)
    assert again.result["changed"] is False and again.result["rebooted"] == [], again.result
    assert writes_of(again, first.emulator_stats) == 0
    reasons = [box["reason"] for box in again.result["boxes"]]
    assert all(re.fullmatch(r"booted [0-9]+ seconds ago, within skip_if_rebooted_within \(1800\)", reason) for reason in reasons), reasons


# -- item 4: what CT's search matched is returned ----------------------------------------------------------------


def test_box_info_returns_every_box_the_api_search_matched(emulator, ansible, tmp_path, token_store, scenario_vars):
    boxes = emulator.state()["boxes"]
    dashed = next(box for box in boxes if "-" in box["calledstationid"])
    searches = {"serial": dashed["serial_number"], "mac": dashed["mac"][:11]}  # "aa:bb:cc:dd" is only in the API's `mac` spelling
    playbook = write_playbook(tmp_path / "search.yml", [
        {"name": f"Search by {label}", "ctcloud.cloud.ct_box_info": {"q": needle}} for label, needle in searches.items()
    ] + [{"name": "One box by slug, if the search matches it", "ctcloud.cloud.ct_box_info": {"slug": dashed["slug"], "q": searches["serial"]}}])
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store)).check()
    for label, needle in searches.items():
        expected = [box["id"] for box in boxes if any(needle.casefold() in str(box.get(field) or "").casefold() for field in BOX_SEARCH_FIELDS)]
        assert dashed["id"] in expected and needle.casefold() not in dashed["calledstationid"].casefold()
        assert [box["id"] for box in run.result(f"Search by {label}")["boxes"]] == expected
    assert [box["slug"] for box in run.result("One box by slug, if the search matches it")["boxes"]] == [dashed["slug"]]


# -- item 5: a rename may not take a name an (archived) location holds -------------------------------------------


def test_a_rename_onto_an_archived_locations_name_is_refused_before_any_write(emulator, ansible, tmp_path, token_store, scenario_vars):
    locations = emulator.state()["locations"]
    archived, renamed = locations[0], locations[1]
    rename = {"id": renamed["id"], "name": archived["location_name"]}
    playbook = write_playbook(tmp_path / "rename.yml", [
        {"name": "Archive one", "ctcloud.cloud.ct_location": {"id": archived["id"], "state": "archived"}},
        {"name": "Rename another onto its name, by id", "ctcloud.cloud.ct_location": rename, "ignore_errors": True},
        {"name": "The same in a declared set", "ctcloud.cloud.ct_locations": {"locations": [rename]}, "ignore_errors": True},
        {"name": "The same in check mode", "ctcloud.cloud.ct_location": rename, "check_mode": True, "ignore_errors": True},
        {"name": "Declaring the name still finds one location", "ctcloud.cloud.ct_location": {"name": archived["location_name"], "state": "archived"}},
    ])
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), stats_url=f"{emulator.admin_url}/stats")
    archive = run.one("Archive one")
    assert archive.result["changed"] is True and writes_of(archive, before) == 1
    for name in ("Rename another onto its name, by id", "The same in a declared set", "The same in check mode"):
        refused = run.one(name)
        assert refused.failed and "cannot be renamed to" in refused.msg, refused.result
        assert f"location {archived['id']} has that name (archived or not)" in refused.msg, refused.msg
        assert refused.python_traceback() is None
    last = run.one("Declaring the name still finds one location")
    assert last.status == "ok" and last.result["changed"] is False and last.result["location"]["id"] == archived["id"]
    assert writes_of(last, archive.emulator_stats) == 0
    assert {location["id"]: location["location_name"] for location in emulator.state()["locations"]}[renamed["id"]] == renamed["location_name"]


# -- item 7: a blank description is refused before any request -----------------------------------------------------


def test_a_blank_voucher_description_is_refused_before_any_request_in_check_mode_too(emulator, ansible, tmp_path, token_store, scenario_vars):
    existing = emulator.state()["vouchers"][0]
    create = {"location": existing["location_id"], "batch_name": "Blank description", **BATCH, "description": ""}
    update = {"location": existing["location_id"], "batch_name": existing["batch_name"], "description": "   "}
    playbook = write_playbook(tmp_path / "blank.yml", [
        {"name": f"{what} ({'check mode' if check else 'for real'})", "ctcloud.cloud.ct_voucher": args, "check_mode": check, "ignore_errors": True}
        for what, args in (("Create with an empty description", create), ("Blank the description of a batch", update))
        for check in (True, False)
    ])
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store))
    assert len(run.results) == 4
    for result in run.results:
        assert result.failed and "description must not be empty or blank" in result.msg, result.result
        assert result.result["failure"]["kind"] == "input"
    stats = emulator.stats()
    assert stats["total"] == 0 and stats["token_requests"]["ct"]["refresh_token"] == 0, stats  # not even a token request


# -- item 8: a create that loses the race for a name converges ------------------------------------------------------


def test_two_identical_set_runs_at_once_both_converge_on_a_server_keeping_names_unique(start_emulator, tmp_path, token_store, scenario_vars):
    emulator = start_emulator(unique_location_names=True)
    names = ["Race Course Stand A", "Race Course Stand B", "Race Course Stand C"]
    interpreter = racing_interpreter(tmp_path, r"/api/v1/locations$", parties=2)
    playbook = write_playbook(tmp_path / "set.yml", [
        {"name": "Declare the stands", "ctcloud.cloud.ct_locations": {"locations": [dict(SITE, name=name) for name in names]}},
    ])
    runners = []
    for side in ("a", "b"):
        ansible = Ansible(tmp_path / f"run-{side}")
        inventory = ansible.write_inventory(tmp_path / f"run-{side}.yml", ["localhost"], ansible_python_interpreter=str(interpreter), **MODULE_PROCESSES)
        runners.append((ansible, inventory))
    extra_vars = scenario_vars(emulator, token_store)

    runs = at_once(*(lambda r=r: r[0].playbook(playbook, extra_vars, inventory=r[1]) for r in runners))
    results = [run.check().result("Declare the stands") for run in runs]
    created = [result["created"] for result in results]
    assert sorted(created[0] + created[1]) == names, created  # each stand created by exactly one run...
    for result in results:
        assert sorted(result["created"] + result["unchanged"]) == names and result["updated"] == []  # ...and found by the other
        assert result["changed"] is bool(result["created"])
    assert Counter(location["location_name"] for location in emulator.state()["locations"] if location["location_name"] in names) == dict.fromkeys(names, 1)
    stats = emulator.stats()
    assert stats["requests"]["POST /ct-api/api/v1/locations"] == 6 and stats["writes"]["locations"]["POST"] == 3, stats


# -- item 9 and the exact filters: one location, one batch, however its name is spelt --------------------------------


def test_names_that_differ_only_in_unicode_form_or_stray_spaces_are_one_name(emulator, ansible, tmp_path, token_store, scenario_vars):
    nfc, nfd = unicodedata.normalize("NFC", "Café Royal"), unicodedata.normalize("NFD", "Café Royal")
    assert nfc != nfd
    state = emulator.state()
    padded = state["locations"][2]
    emulator.admin("POST", f"ct/locations/{padded['id']}", {"location_name": f"  {padded['location_name']}  "})  # as another client stored it
    site = {**SITE, "address": "3 Royal Parade"}
    batch = {"location": nfc, **BATCH}
    playbook = write_playbook(tmp_path / "spellings.yml", [
        {"name": "Create the cafe, its name typed in NFD", "ctcloud.cloud.ct_location": {"name": nfd, **site}},
        {"name": "Declare it in NFC", "ctcloud.cloud.ct_location": {"name": nfc, **site}},
        {"name": "Declare it in NFC in a set", "ctcloud.cloud.ct_locations": {"locations": [{"name": nfc, **site}]}},
        {"name": "Read it in NFC", "ctcloud.cloud.ct_location_info": {"name": nfc}},
        {"name": "Declare the location stored with stray spaces", "ctcloud.cloud.ct_location": {"name": padded["location_name"], **site}},
        {"name": "Create a batch, its name in NFD", "ctcloud.cloud.ct_voucher": {**batch, "batch_name": nfd}},
        {"name": "Declare the batch in NFC", "ctcloud.cloud.ct_voucher": {**batch, "batch_name": nfc}},
    ])
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, token_store), stats_url=f"{emulator.admin_url}/stats").check()
    created = run.one("Create the cafe, its name typed in NFD")
    assert created.result["location"]["location_name"] == nfd  # sent as written
    after_create = created.emulator_stats
    for name in ("Declare it in NFC", "Declare it in NFC in a set"):
        assert run.result(name)["changed"] is False
    assert [location["id"] for location in run.result("Read it in NFC")["locations"]] == [created.result["location"]["id"]]
    spaces = run.one("Declare the location stored with stray spaces")
    assert spaces.result["location"]["id"] == padded["id"]
    batch_created = run.one("Create a batch, its name in NFD")
    assert run.result("Declare the batch in NFC")["changed"] is False
    stats = emulator.stats()
    assert after_create["writes"]["locations"]["POST"] - before["writes"]["locations"]["POST"] == 1
    assert stats["writes"]["locations"]["POST"] == after_create["writes"]["locations"]["POST"]  # no twin of either location
    assert stats["writes"]["vouchers"]["POST"] == 1 and batch_created.result["changed"] is True
    assert writes_of(run.one("Declare the batch in NFC"), batch_created.emulator_stats) == 0
    names = Counter(unicodedata.normalize("NFC", location["location_name"].strip()) for location in emulator.state()["locations"])
    assert names[nfc] == 1 and names[padded["location_name"]] == 1
