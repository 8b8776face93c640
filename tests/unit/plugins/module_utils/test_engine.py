# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired-state engine: pure planning, no I/O."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import SHAPE as LOCATION
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import engine
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import AmbiguousKeyError, Field, ImmutableFieldError, Shape, plan, plan_set

BATCH = Shape(
    "voucher",
    [Field("batch_name", "batch_name"), Field("quantity", "quantity", mutable=False), Field("active", "is_active")],
    key="batch_name",
    identity=("unique_id",),
)

CAFE = {"id": "7", "slug": "cafe", "location_name": "Cafe Central", "location_address": "1 Main Street", "town": "Bath",
        "postcode": "BA1 1AA", "lat": 51.38, "lng": -2.36, "state": "active", "archived": False, "phone1": None}


def test_unset_options_are_neither_compared_nor_sent():
    item = plan(LOCATION, CAFE, {"name": "Cafe Central", "phone": None, "street": None, "state": "present"})
    assert item.action == engine.NOTHING
    assert item.payload == {}


def test_only_the_difference_is_sent_with_before_and_after_in_option_names():
    item = plan(LOCATION, CAFE, {"name": "Cafe Central", "postcode": "BA1 1AB", "state": "present"})
    assert item.action == engine.UPDATE
    assert item.payload == {"postcode": "BA1 1AB"}
    assert item.changes == {"postcode": {"before": "BA1 1AA", "after": "BA1 1AB"}}


@pytest.mark.parametrize("current, wanted", [(None, ""), ("", None), ("  Bath ", "Bath"), (51.3800001, 51.38), (51.38, 51.380000000001)])
def test_blank_equals_null_and_insignificant_differences_are_no_change(current, wanted):
    assert LOCATION.same("town", current, wanted) if isinstance(wanted, (str, type(None))) else LOCATION.same("lat", current, wanted)


def test_create_sends_creatable_fields_and_follows_up_with_the_rest():
    options = {"name": "New Place", "address": "2 Side Road", "town": "Bath", "postcode": "BA2 2BB", "state": "archived"}
    item = plan(LOCATION, None, options, {"state": "active", "archived": False, "id": None})
    assert item.action == engine.CREATE
    assert "state" not in item.payload and item.payload["location_name"] == "New Place"
    assert item.followup == {"state": "archived"}
    assert item.predicted["state"] == "archived" and item.predicted["id"] is None
    assert item.diff()["before"] == {} and item.diff()["after"]["name"] == "New Place"


def test_a_follow_up_equal_to_the_server_default_is_not_sent():
    item = plan(LOCATION, None, {"name": "New Place", "state": "present"}, {"state": "active"})
    assert item.followup == {}


def test_absent_deletes_what_exists_and_does_nothing_otherwise():
    assert plan(LOCATION, CAFE, None).action == engine.DELETE
    assert plan(LOCATION, None, None).action == engine.NOTHING
    assert plan(LOCATION, CAFE, None).predicted is None
    assert plan(LOCATION, None, None).predicted is None  # absent and already missing: null, not {}


def test_immutable_field_change_is_refused_naming_both_values():
    with pytest.raises(ImmutableFieldError, match=r"quantity \(is 100, wanted 200\) cannot change after creation") as caught:
        plan(BATCH, {"batch_name": "Guests", "quantity": 100, "is_active": True}, {"batch_name": "Guests", "quantity": 200})
    assert caught.value.field == "quantity"


def test_immutable_field_equal_value_is_fine():
    item = plan(BATCH, {"batch_name": "Guests", "quantity": 100, "is_active": True}, {"batch_name": "Guests", "quantity": 100, "active": False})
    assert item.payload == {"is_active": False}


def test_a_name_matching_several_objects_is_an_error_listing_them():
    twins = [dict(CAFE, id="7"), dict(CAFE, id="9")]
    with pytest.raises(AmbiguousKeyError, match=r"2 locations are named 'Cafe Central' \(ids 7, 9\)"):
        plan_set(LOCATION, twins, [{"name": "Cafe Central", "state": "present"}])


def set_entries(*names, **extra):
    return [dict({"name": name, "state": "present"}, **extra) for name in names]


def test_set_plan_purge_archive_delete_or_keep():
    other = dict(CAFE, id="8", location_name="Old Place")
    current = [CAFE, other]
    keep = plan_set(LOCATION, current, set_entries("Cafe Central"))
    assert [p.action for p in keep.plans] == [engine.NOTHING]
    archive = plan_set(LOCATION, current, set_entries("Cafe Central"), purge=lambda obj: {"state": "archived"})
    assert archive.plans[1].payload == {"state": "archived"}
    delete = plan_set(LOCATION, current, set_entries("Cafe Central"), purge=lambda obj: None)
    assert delete.plans[1].action == engine.DELETE
    assert delete.labels == ["Cafe Central", "Old Place"]


def test_set_entry_with_id_renames():
    item = plan_set(LOCATION, [CAFE], [{"id": "7", "name": "Cafe Renamed", "state": "present"}]).plans[0]
    assert item.payload == {"location_name": "Cafe Renamed"}


def test_set_entry_with_unknown_id_is_an_input_error():
    with pytest.raises(InputError, match="location id 99 does not exist"):
        plan_set(LOCATION, [CAFE], [{"id": "99", "name": "X Place", "state": "present"}])


def test_every_problem_of_a_set_is_reported_at_once():
    twin_a, twin_b = dict(CAFE, id="8", location_name="Twin Place"), dict(CAFE, id="9", location_name="Twin Place")
    entries = [
        {"id": "99", "name": "X Place", "state": "present"},
        {"name": "Twin Place", "state": "present"},
        {"name": "Brand New Place", "state": "present"},
        {"name": "Cafe Central", "postcode": "BA1 1AB", "state": "present"},
    ]
    with pytest.raises(InputError) as caught:
        plan_set(LOCATION, [CAFE, twin_a, twin_b], entries, missing_for_create=lambda entry: ["address", "town"])
    message = str(caught.value)
    assert message.startswith("nothing was changed: ")
    assert "location id 99 does not exist" in message
    assert "2 locations are named 'Twin Place' (ids 8, 9)" in message
    assert "'Brand New Place' does not exist; creating it needs address, town" in message
    assert [match["id"] for match in caught.value.details["matches"]] == ["8", "9"]


def test_set_diff_covers_the_whole_set_with_unique_labels():
    twin_a, twin_b = dict(CAFE, id="8", location_name="Twin"), dict(CAFE, id="9", location_name="Twin")
    set_plan = plan_set(LOCATION, [CAFE, twin_a, twin_b], set_entries("Cafe Central"), purge=lambda obj: None)
    diff = set_plan.diff()
    assert sorted(diff["before"]) == ["Cafe Central", "Twin", "Twin #2"]
    assert sorted(diff["after"]) == ["Cafe Central"]


@pytest.mark.parametrize("current, state, archived", [(CAFE, "archived", True), (dict(CAFE, state="archived", archived=True), "present", False)])
def test_the_prediction_of_an_archive_or_restore_shows_archived_as_the_api_will(current, state, archived):
    """The API's `archived` mirrors `state`: check mode must not predict state archived with archived false."""
    item = plan(LOCATION, current, {"name": "Cafe Central", "state": state})
    assert item.action == engine.UPDATE
    assert item.predicted["archived"] is archived
    assert item.payload == {"state": "archived" if archived else "active"}  # `archived` itself is never sent


def test_a_location_created_archived_is_predicted_archived():
    item = plan(LOCATION, None, {"name": "Cafe Central", "address": "1 Main Street", "town": "Bath", "postcode": "BA1 1AA", "state": "archived"},
                {"id": None, "slug": None, "state": "active", "archived": False})
    assert item.predicted["state"] == "archived" and item.predicted["archived"] is True


def test_a_planned_create_shows_what_only_the_server_decides_as_unknown_not_null():
    options = {"name": "New Place", "address": "2 Side Road", "town": "Bath", "postcode": "BA2 2BB", "state": "present"}
    item = plan(LOCATION, None, options, {"id": None, "slug": None, "state": "active", "archived": False})
    after = item.diff()["after"]
    assert after["id"] == after["slug"] == after["daily_limit"] == engine.KNOWN_AFTER_CREATE
    assert after["name"] == "New Place" and after["state"] == "present"
    assert item.predicted["id"] is None  # the returned object keeps the API's shape
    created = dict(item.predicted, id="9", slug="new-place", daily_limit=False)
    assert item.diff(created)["after"]["daily_limit"] is False


def test_names_are_compared_in_nfc_and_without_surrounding_spaces():
    nfc, nfd = "Caf\u00e9 Royal", "Cafe\u0301 Royal"
    assert LOCATION.same("location_name", nfd, nfc) and LOCATION.same("location_name", f" {nfd} ", nfc)
    assert not LOCATION.same("location_name", "cafe royal", nfc)  # case still counts
    assert not LOCATION.same("location_address", nfd, nfc)  # only names (natural keys) compare in NFC
    item = plan(LOCATION, dict(CAFE, location_name=nfd), {"name": nfc, "state": "present"})
    assert item.action == engine.NOTHING
