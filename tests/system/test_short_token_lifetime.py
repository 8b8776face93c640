# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 18, item 6: a CT access token that lives 60 seconds or less is not refreshed on every request.

0.1.0 renewed a stored token 60 seconds before it expired, whatever its lifetime: with a
30-second token every request found it "about to expire" and refreshed first (903
refreshes for 900 creates). The margin is now a share of the lifetime, bounded by 60 s
(``oauth.renewal_margin``).

The evidence is the emulator's own record of the grants it issued: many CT requests in one
run (a set that creates locations, then a series of info tasks, each a module run of its
own) and no two refreshes closer together than the token's lifetime minus the margin. How
fast the machine is changes how many windows the run spans, never that bound.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from test_shared_token_store import issued, refreshes

TTL = 30  # seconds a CT access token lives: under the 60-second margin of 0.1.0
MARGIN_SHARE = 0.25  # oauth.EXPIRY_MARGIN_SHARE
# The client counts the lifetime from whole seconds of its receipt time: up to a second more than TTL.
MIN_REFRESH_SPACING = TTL - (TTL + 1) * MARGIN_SHARE
CREATES = 12
INFO_TASKS = 8


def playbook(path: Path) -> Path:
    locations = [{"name": f"Short-lived token site {number:02d}", "address": f"{number + 1} Quay Street", "town": "Bristol",
                  "postcode": "BS1 4DJ", "country": "gb"} for number in range(CREATES)]
    tasks: list[dict[str, Any]] = [
        {"name": "Create locations, one request each", "ctcloud.cloud.ct_locations": {"locations": locations}},
    ]
    tasks += [{"name": f"Read them back {number}", "ctcloud.cloud.ct_location_info": {}} for number in range(INFO_TASKS)]
    play = {
        "name": "Many CT requests with a short-lived access token",
        "hosts": "targets",
        "gather_facts": False,
        "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}"},
        "tasks": tasks,
    }
    path.write_text(json.dumps([play], indent=1), encoding="utf-8")  # JSON is YAML
    return path


def test_a_short_lived_ct_token_is_refreshed_once_per_lifetime_not_per_request(start_emulator, ansible, tmp_path, token_store, scenario_vars):
    emulator = start_emulator(ct_access_ttl=TTL)
    run = ansible.playbook(playbook(tmp_path / "short.yml"), scenario_vars(emulator, token_store)).check()
    assert run.result("Create locations, one request each")["changed"], run.describe()

    stats = emulator.stats()
    api_requests = stats["hosts"]["ct_api"]
    assert api_requests >= CREATES + INFO_TASKS, stats  # the run really made many requests
    assert stats["token_errors"] == {}, stats
    grants = issued(emulator)
    assert len(grants) == refreshes(emulator) >= 1, grants
    spacings = [later["created_at"] - earlier["created_at"] for earlier, later in itertools.pairwise(grants)]
    assert all(spacing >= MIN_REFRESH_SPACING for spacing in spacings), spacings  # at most one refresh per lifetime
    assert len(grants) < api_requests / 2, (len(grants), api_requests)  # 0.1.0: one refresh per request
