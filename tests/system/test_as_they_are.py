# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11, "Done when": the collection against CT and cThings as the vendor's dashboard shows them.

One playbook (playbooks/as_they_are.yml) against an emulator of the dashboard dialect whose search
index lags writes by ten minutes, so that "within the search lag" is certain however slow the
machine. The emulator's write counters are read after every task (through /_admin, never counted).
"""

from __future__ import annotations

import pytest
from ctsystem.collection import PLAYBOOKS

OPTIONS = (  # module option <- API field of a location (docs/api-contract.md, "Locations")
    ("name", "location_name"), ("address", "location_address"), ("street", "street"), ("town", "town"), ("postcode", "postcode"),
    ("country", "country"), ("phone", "phone1"), ("website", "location_website"), ("location_type", "location_type"),
    ("timezone", "timezone"), ("development_mode", "development_mode"), ("daily_limit", "daily_limit"), ("latitude", "lat"),
    ("longitude", "lng"),
)
NEW_SITE = {"name": "Harbour Light Cafe", "address": "2 Quay Street", "town": "Whitby", "postcode": "YO21 3PU", "country": "gb"}


def as_declared(location: dict) -> dict:
    """A location as a user would declare it, from what the emulator holds."""
    entry = {option: location[api] for option, api in OPTIONS if location.get(api) is not None}
    entry["state"] = "archived" if location["archived"] else "present"
    return entry


@pytest.fixture
def run(start_emulator, ansible, token_store, scenario_vars):
    emulator = start_emulator(dialect="dashboard", search_lag=600)
    state = emulator.state(devices=True)
    box = next(box for box in state["boxes"] if box["state"] == "online" and box["allowed_job"])
    busy = next(location for location in state["locations"] if location["clients_total"] > 0)
    extra_vars = scenario_vars(emulator, token_store, declared=[as_declared(location) for location in state["locations"]], new_site=NEW_SITE,
                               device_id=state["devices"][0]["id"], box_mac=box["calledstationid"].lower().replace(":", "-"),
                               busy_name=busy["location_name"])
    before = emulator.stats()
    result = ansible.playbook(PLAYBOOKS / "as_they_are.yml", extra_vars, stats_url=f"{emulator.admin_url}/stats")
    return result, emulator, before, box, busy


def writes(task, before):
    return task.emulator_stats["writes_total"] - before["writes_total"]


def test_the_everyday_tasks_behave_against_the_dashboards_apis(run):
    result, emulator, before, box, busy = run
    assert emulator.line["dialect"] == "dashboard"
    assert not [task for task in result.results if task.failed and task.task != "Delete a location with session data"], result.describe()

    declared = result.one("Declare every location exactly as it is")
    assert declared.result["changed"] is False and writes(declared, before) == 0
    one_by_one = result.one("Declare the first ones again, one task each")
    assert all(not item["changed"] for item in one_by_one.result["results"])
    assert writes(one_by_one, declared.emulator_stats) == 0

    created, again = result.one("Create a location"), result.one("The same task at once, before the search index has seen the create")
    assert created.result["changed"] and not again.result["changed"]
    assert again.result["location"]["id"] == created.result["location"]["id"]
    assert writes(again, created.emulator_stats) == 0
    assert [loc["id"] for loc in emulator.state()["locations"] if loc["location_name"].startswith(NEW_SITE["name"])] == [
        created.result["location"]["id"]]  # one, renamed later in the playbook

    renamed = result.one("Rename it")
    location = renamed.result["location"]
    assert location["location_name"] == f"{NEW_SITE['name']} and Annexe" and location["id"] == created.result["location"]["id"]
    assert location["slug"] != created.result["location"]["slug"]  # the slug follows the name

    first, second = result.one("Archive it, then archive it again").result["results"]
    assert first["changed"] and first["location"]["archived"] is True and first["location"]["state"] == "archived"
    assert not second["changed"]

    readings = result.one("Read a day of readings").result
    assert readings["devices"][0]["readings"] and readings["readings_window"] == {"from": "2023-11-13T00:00:00", "to": "2023-11-14T00:00:00"}

    reboot = result.one("Reboot a box by its MAC").result
    assert reboot["rebooted"] == [box["slug"]] and reboot["boxes"][0]["back_online"] is True
    assert reboot["boxes"][0]["id"] == box["id"]  # an integer in the API, a digit string in the result

    refused = result.one("Delete a location with session data")
    assert refused.failed and "You cannot delete a location with session data" in refused.msg and "state: archived" in refused.msg
    assert refused.python_traceback() is None
    assert writes(refused, result.one("Reboot a box by its MAC").emulator_stats) == 0
    assert busy["id"] in [loc["id"] for loc in emulator.state()["locations"]]
    assert emulator.stats()["token_errors"] == {}
