# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The purge guards of ct_locations: a share of the account, an empty declaration; counts and names in the message."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import SHAPE, PurgeRefusedError, check_purge, is_archived
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import plan_set

ARCHIVE = {"archive": lambda location: {"state": "archived"}, "delete": lambda location: None}


def account(active, archived=0):
    """``active`` active and ``archived`` archived locations."""
    locations = [{"id": str(1000 + n), "location_name": f"Site {n:02d}", "state": "active", "archived": False} for n in range(active)]
    locations += [{"id": str(2000 + n), "location_name": f"Old {n:02d}", "state": "archived", "archived": True} for n in range(archived)]
    return locations


def declared(*numbers):
    return [{"name": f"Site {n:02d}", "state": "present"} for n in numbers]


def planned(locations, entries, purge):
    return plan_set(SHAPE, locations, entries, ARCHIVE[purge])


def test_a_purge_within_the_share_passes():
    check_purge(planned(account(4), declared(0, 1), "archive"), 2, "archive", 0.5)  # 2 of 4 active: 50 %, not more


def test_archiving_more_than_the_share_is_refused_naming_how_many_and_which():
    set_plan = planned(account(10, archived=30), declared(0, 1, 2), "archive")
    with pytest.raises(PurgeRefusedError) as caught:
        check_purge(set_plan, 3, "archive", 0.5)
    message = str(caught.value)
    # Archived locations cannot be archived again: the share is of the 10 active ones, not of all 40.
    assert message.startswith("purge: archive would archive 7 of the account's 10 active locations (70%), more than purge_max_share allows (50%): ")
    assert "'Site 03', 'Site 04', 'Site 05', 'Site 06', 'Site 07', 'Site 08', 'Site 09'. Nothing was changed." in message
    assert caught.value.details["locations"] == [f"Site {n:02d}" for n in range(3, 10)]
    assert (caught.value.details["count"], caught.value.details["of"]) == (7, 10)


def test_deleting_counts_every_location_and_long_lists_are_cut_in_the_message():
    set_plan = planned(account(30, archived=10), declared(0), "delete")
    with pytest.raises(PurgeRefusedError) as caught:
        check_purge(set_plan, 1, "delete", 0.9)
    assert str(caught.value).startswith("purge: delete would delete 39 of the account's 40 locations (98%)")
    assert "'Site 20' and 19 more. Nothing was changed." in str(caught.value)
    assert len(caught.value.details["locations"]) == 39
    check_purge(set_plan, 1, "delete", 1.0)


@pytest.mark.parametrize("purge, says", [
    ("archive", "locations is empty, so purge: archive would archive all 3 active locations of the account: 'Site 00', 'Site 01', 'Site 02'."),
    ("delete", "locations is empty, so purge: delete would delete all 5 locations of the account: "),
])
def test_an_empty_declaration_is_refused_whatever_the_share_short_of_everything(purge, says):
    set_plan = planned(account(3, archived=2), [], purge)
    with pytest.raises(PurgeRefusedError, match=r"set purge_max_share: 1\.0") as caught:
        check_purge(set_plan, 0, purge, 0.99)
    assert str(caught.value).startswith(says)
    check_purge(set_plan, 0, purge, 1.0)


@pytest.mark.parametrize("location, archived", [
    ({"archived": True, "state": "archived"}, True), ({"archived": 1}, True), ({"archived": 0, "state": "active"}, False), ({"archived": False}, False),
])
def test_archived_is_read_as_the_api_may_spell_it(location, archived):
    assert is_archived(location) is archived


def test_a_purge_that_changes_nothing_is_never_refused():
    check_purge(planned(account(0, archived=5), [], "archive"), 0, "archive", 0.0)
