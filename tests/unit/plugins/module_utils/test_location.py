# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locations as CT really sends them (docs/api-contract.md, "Corrections"): no state, archived as 1/0, exact name
lookups, new slugs on rename, refused deletes, and the create form's limits only when creating."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import LocationResource, from_reply, validate
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import KNOWN_AFTER_UPDATE, NOTHING, UPDATE
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import DeleteRefusedError, Runner, SetApplyError

# As the dashboard shows them: no `state`, `archived` as 1/0 in a single-object reply, an integer id.
SEEDED = [
    {"id": 1001, "location_name": "Harbour Cafe", "slug": "harbour-cafe-x1", "archived": 0, "location_address": "1 Quay",
     "town": "Whitby", "postcode": "YO21 3PU", "country": "gb", "daily_limit": 1, "clients_total": 0},
    {"id": 1002, "location_name": "Old Depot", "slug": "old-depot-x2", "archived": 1, "location_address": "2 Yard",
     "town": "Hull", "postcode": "HU1 1AA", "country": "gb", "daily_limit": 0, "clients_total": 40},
]
NEW = {"name": "Beacon Hall", "address": "3 Cliff Road", "town": "Scarborough", "postcode": "YO11 2AA", "country": "gb",
       "state": "present"}
SESSION_DATA = ApiError("You cannot delete a location with session data.", "DELETE", "http://ct/locations/1002", 422,
                        details={"body": {"errors": ["You cannot delete a location with session data."]}})


class DashboardApi:
    """A CtClient stand-in answering like the dashboard dialect; records every call."""

    def __init__(self, locations=None, refuse_delete=(1002,)):
        self.locations = copy.deepcopy(list(SEEDED if locations is None else locations))
        self.refuse_delete = set(refuse_delete)
        self.calls = []

    def _find(self, ref):
        for location in self.locations:
            if str(ref) in (str(location["id"]), location["slug"]):
                return location
        raise ApiError("Couldn't find Location", "GET", "http://ct/locations", 404)

    def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
        self.calls.append((method, "/".join(str(s) for s in segments)))
        if method == "POST":
            record = {"id": 2000 + len(self.locations), "slug": "new-x", "archived": 0, "clients_total": 0, **body["location"]}
            self.locations.append(record)
            return dict(record)
        location = self._find(segments[1])
        if method == "GET":
            return dict(location)
        if method == "PATCH":
            changes = dict(body["location"])
            if "state" in changes:
                changes = {"archived": int(changes.pop("state") == "archived"), **changes}
            if "location_name" in changes:
                location["slug"] = changes["location_name"].lower().replace(" ", "-") + "-y9"
            location.update(changes)
            return dict(location)
        if method == "DELETE":
            if location["id"] in self.refuse_delete:
                raise SESSION_DATA
            self.locations.remove(location)
            return None
        raise AssertionError(method)

    def list_all(self, segments, key, schema, params=None):
        self.calls.append(("LIST", dict(params or {})))
        exact = (params or {}).get("location_name")
        # Lists spell archived as a boolean, and still no state.
        return [dict(loc, archived=bool(loc["archived"])) for loc in self.locations if exact in (None, loc["location_name"])]


def options(**given):
    return validate(dict(NEW, **given))


def test_replies_without_state_and_with_rails_booleans_are_evened_out():
    assert from_reply({"id": 7, "location_name": "x", "archived": 1, "daily_limit": 0}) == {
        "id": "7", "location_name": "x", "archived": True, "daily_limit": False, "state": "archived"}
    assert from_reply({"id": "7", "archived": False})["state"] == "active"
    assert from_reply({"id": "7", "state": "archived"})["archived"] is True
    assert from_reply({"id": "7", "state": "active", "archived": True})["state"] == "active"  # a state sent is kept


@pytest.mark.parametrize(("name", "state"), [("Harbour Cafe", "present"), ("Old Depot", "archived")])
def test_a_location_declared_as_it_is_plans_nothing_without_state_in_replies(name, state):
    api = DashboardApi()
    existing = next(loc for loc in SEEDED if loc["location_name"] == name)
    declared = validate({"name": name, "address": existing["location_address"], "town": existing["town"], "postcode": existing["postcode"],
                         "country": "gb", "daily_limit": bool(existing["daily_limit"]), "state": state})
    item = Runner(LocationResource(api)).plan_one(declared)
    assert item.action == NOTHING and item.changes == {}
    assert [call for call in api.calls if call[0] != "LIST"] == []


def test_a_name_is_found_with_the_exact_filter_never_with_q():
    api = DashboardApi()
    found = LocationResource(api).find_by_key("Harbour Cafe")
    assert found["id"] == "1001" and found["state"] == "active"
    assert api.calls == [("LIST", {"location_name": "Harbour Cafe"})]


def test_archive_reads_back_the_integer_archived_as_archived():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    item = runner.plan_one(validate({"name": "Harbour Cafe", "state": "archived"}))
    result = runner.apply(item)
    assert (result["archived"], result["state"]) == (True, "archived")
    assert Runner(LocationResource(api)).plan_one(validate({"name": "Harbour Cafe", "state": "archived"})).action == NOTHING


def test_a_rename_predicts_the_slug_as_unknown_and_takes_the_new_one():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    item = runner.plan_one(validate({"id": "1001", "name": "Harbour Light Cafe"}))
    assert item.action == UPDATE and item.predicted["slug"] is None
    assert item.diff()["after"]["slug"] == KNOWN_AFTER_UPDATE and item.diff()["before"]["slug"] == "harbour-cafe-x1"
    renamed = runner.apply(item)
    assert renamed["slug"] == "harbour-light-cafe-y9" and item.diff(renamed)["after"]["slug"] == "harbour-light-cafe-y9"
    assert [call for call in api.calls if call[0] == "PATCH"] == [("PATCH", "locations/1001")]  # by id, never the old slug


def test_a_refused_delete_quotes_the_server_and_points_to_archiving():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    with pytest.raises(DeleteRefusedError) as caught:
        runner.apply(runner.plan_one(validate({"name": "Old Depot"}), absent=True))
    message = str(caught.value)
    assert "You cannot delete a location with session data" in message and "state: archived" in message
    assert caught.value.status == 422 and len(api.locations) == 2


@pytest.mark.parametrize("status", [401, 404, 429, 503])
def test_only_a_refusal_is_a_refusal(status):
    class Failing(DashboardApi):
        def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
            if method == "DELETE":
                raise ApiError("nope", "DELETE", "u", status)
            return super().request(method, segments, params, body, schema, replay_safe)

    resource = LocationResource(Failing())
    with pytest.raises(ApiError) as caught:
        resource.delete({"id": "1001", "location_name": "Harbour Cafe"})
    assert not isinstance(caught.value, DeleteRefusedError)


def test_a_set_goes_on_past_refused_deletes_and_fails_at_the_end_listing_them():
    locations = [*SEEDED, dict(SEEDED[1], id=1003, location_name="Older Depot", slug="older-x3", clients_total=9),
                 dict(SEEDED[0], id=1004, location_name="Spare Kiosk", slug="spare-x4")]
    api = DashboardApi(locations, refuse_delete=(1002, 1003))
    runner = Runner(LocationResource(api))
    entries = [dict(options(name="Harbour Cafe", address="1 Quay", town="Whitby", postcode="YO21 3PU"), phone="+44 1947 000000")]
    set_plan = runner.plan_set(entries, lambda location: None)
    with pytest.raises(SetApplyError) as caught:
        runner.apply_set(set_plan, entries)
    error = caught.value
    assert error.details["refused"] == ["Old Depot", "Older Depot"]
    assert error.done == {"updated": ["Harbour Cafe"], "deleted": ["Spare Kiosk"]}
    assert str(error).startswith("CT refused to delete 2 locations: You cannot delete a location with session data "
                                 "(location 'Old Depot' (id 1002), location 'Older Depot' (id 1003)). Archive instead (state: archived)")
    assert "Everything else was applied" in str(error)
    assert [loc["location_name"] for loc in api.locations] == ["Harbour Cafe", "Old Depot", "Older Depot"]
    assert [result and result["location_name"] for result in error.results] == ["Harbour Cafe", "Old Depot", "Older Depot", None]


def test_a_set_stops_at_any_other_failure_naming_the_refusals_so_far():
    class Broken(DashboardApi):
        def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
            if method == "DELETE" and str(segments[1]) == "1004":
                raise ApiError("boom", "DELETE", "u", 500)
            return super().request(method, segments, params, body, schema, replay_safe)

    api = Broken([*SEEDED, dict(SEEDED[0], id=1004, location_name="Spare Kiosk", slug="spare-x4")])
    runner = Runner(LocationResource(api))
    with pytest.raises(SetApplyError, match=r"while applying location 'Spare Kiosk'; already done: deleted: Harbour Cafe; refused to delete: Old Depot"):
        runner.apply_set(runner.plan_set([], lambda location: None), [])


def test_a_slug_read_in_the_same_listing_names_an_entry():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    set_plan = runner.plan_set([validate({"id": "old-depot-x2", "name": "Old Depot Two"})], None)
    assert set_plan.plans[0].action == UPDATE and set_plan.plans[0].current["id"] == "1002"


def test_the_settings_form_limits_apply_to_what_exists_and_the_create_form_only_to_creating():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    zip_plus_four = validate({"name": "Harbour Cafe", "postcode": "94103-1234", "town": "Ur"})
    assert runner.plan_one(zip_plus_four).changes["postcode"]["after"] == "94103-1234"
    with pytest.raises(InputError) as caught:
        runner.plan_one(options(postcode="94103-1234", town="Ur"))
    assert "postcode must be 3 to 8 characters to create a location (CT's create form), got 10" in str(caught.value)
    assert "town must be 3 to 200 characters to create a location" in str(caught.value)
    with pytest.raises(InputError, match=r"name must be at most 255 characters"):
        validate({"name": "x" * 256})
    with pytest.raises(InputError, match=r"nothing was changed: locations\[0\].postcode must be 3 to 8 characters"):
        runner.plan_set([options(postcode="94103-1234")], None)
    assert [call for call in api.calls if call[0] != "LIST"] == []


def test_country_is_a_two_letter_code_required_to_create():
    assert validate(dict(NEW, country=" GB "))["country"] == "gb"
    for bad in ("GBR", "g", "12", ""):
        with pytest.raises(InputError, match="country must be a two-letter ISO 3166-1 country code"):
            validate(dict(NEW, country=bad))
    with pytest.raises(InputError, match=r"creating it needs country"):
        Runner(LocationResource(DashboardApi())).plan_one(dict(options(), country=None))


def test_a_create_whose_reply_was_lost_is_found_by_its_exact_name():
    class LostReply(DashboardApi):
        def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
            reply = super().request(method, segments, params, body, schema, replay_safe)
            if method == "POST":
                raise ApiError("no reply", "POST", "u", retryable=True)
            return reply

    api = LostReply()
    runner = Runner(LocationResource(api))
    created = runner.apply(runner.plan_one(options()), options())
    assert created["location_name"] == "Beacon Hall" and created["id"] == "2002"
    assert [call[0] for call in api.calls].count("POST") == 1
    assert api.calls[-1] == ("LIST", {"location_name": "Beacon Hall"})


def test_a_failure_while_applying_a_set_is_a_collection_error():
    assert issubclass(SetApplyError, CtCloudError)


# -- issue 18: names as other clients stored them, renames onto taken names, creates that lose a race ----------------

NFD_NAME = "Cafe\u0301 Royal"  # "Café Royal" with a combining accent
NFC_NAME = "Caf\u00e9 Royal"


@pytest.mark.parametrize("stored", [NFD_NAME, f"  {NFC_NAME} "])
def test_a_name_the_exact_filter_misses_is_found_in_the_plain_list_before_creating(stored):
    api = DashboardApi([*SEEDED, dict(SEEDED[0], id=1003, slug="cafe-royal-x3", location_name=stored)])
    item = Runner(LocationResource(api)).plan_one(options(name=NFC_NAME, address="1 Quay", town="Whitby", postcode="YO21 3PU"))
    assert item.action == NOTHING and item.current["id"] == "1003"
    assert api.calls == [("LIST", {"location_name": NFC_NAME}), ("LIST", {})]  # the exact filter, then the whole list, never q


def test_a_name_the_exact_filter_finds_costs_one_read():
    api = DashboardApi()
    assert Runner(LocationResource(api)).plan_one(options(name="Harbour Cafe")).current["id"] == "1001"
    assert api.calls == [("LIST", {"location_name": "Harbour Cafe"})]


def test_a_rename_onto_the_name_of_an_archived_location_is_refused_naming_it():
    api = DashboardApi()
    runner = Runner(LocationResource(api))
    with pytest.raises(CtCloudError) as caught:
        runner.plan_one(validate({"id": "1001", "name": "Old Depot"}))
    assert "location 'Harbour Cafe' (id 1001) cannot be renamed to 'Old Depot': location 1002 has that name (archived or not)" in str(caught.value)
    assert [match["id"] for match in caught.value.details["matches"]] == ["1002"]
    with pytest.raises(InputError) as in_set:
        runner.plan_set([dict(validate({"id": "1001", "name": " Old Depot "}), _absent=False)], None)
    assert "locations[0]: location 'Harbour Cafe' (id 1001) cannot be renamed" in str(in_set.value)
    assert [call for call in api.calls if call[0] in ("POST", "PATCH", "DELETE")] == []


def test_a_rename_to_a_free_name_or_to_its_own_name_in_another_spelling_goes_ahead():
    runner = Runner(LocationResource(DashboardApi()))
    assert runner.plan_one(validate({"id": "1001", "name": "Harbour Cafe & Bar"})).action == UPDATE
    assert runner.plan_one(validate({"id": "1001", "name": "  Harbour Cafe "})).action == NOTHING


class NamesKeptUnique(DashboardApi):
    """A server that refuses a create onto a taken name; ``other_run`` creates the name first, as a racing run would."""

    def __init__(self, other_run=None, refusal=None):
        super().__init__()
        self.other_run = other_run
        self.refusal = refusal or {"location_name": ["has already been taken"]}

    def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
        if method == "POST" and self.other_run is not None:
            self.locations.append(dict(self.other_run))
            self.calls.append(("POST", "locations"))
            raise ApiError("refused", "POST", "http://ct/locations", 422, details={"body": {"errors": self.refusal}})
        return super().request(method, segments, params, body, schema, replay_safe)


@pytest.mark.parametrize(("theirs", "action", "outcome"), [
    ({}, NOTHING, "unchanged"),
    ({"postcode": "YO11 9ZZ"}, UPDATE, "updated"),
])
def test_a_create_refused_as_taken_converges_on_the_location_the_other_run_made(theirs, action, outcome):
    other = {"id": 3001, "slug": "beacon-hall-z1", "archived": 0, "clients_total": 0, "location_name": "Beacon Hall",
             "location_address": "3 Cliff Road", "town": "Scarborough", "postcode": "YO11 2AA", "country": "gb", **theirs}
    api = NamesKeptUnique(other)
    runner = Runner(LocationResource(api))
    item = runner.plan_one(options())
    location = runner.apply(item, options())
    assert location["id"] == "3001" and location["postcode"] == "YO11 2AA"
    assert item.action == action and runner.resource.outcome(item) == outcome  # what this run did, not what it planned
    assert item.changed is (action == UPDATE)
    assert [call[0] for call in api.calls].count("POST") == 1


def test_a_create_refused_for_another_reason_is_still_an_error():
    api = NamesKeptUnique({"id": 3001, "slug": "s", "archived": 0, "location_name": "Elsewhere"}, {"postcode": ["is invalid"]})
    runner = Runner(LocationResource(api))
    with pytest.raises(ApiError, match="postcode is invalid"):
        runner.apply(runner.plan_one(options()), options())


def test_a_set_create_that_lost_the_race_is_reported_unchanged():
    other = {"id": 3001, "slug": "beacon-hall-z1", "archived": 0, "clients_total": 0, "location_name": "Beacon Hall",
             "location_address": "3 Cliff Road", "town": "Scarborough", "postcode": "YO11 2AA", "country": "gb"}
    runner = Runner(LocationResource(NamesKeptUnique(other)))
    entries = [dict(options(), _absent=False)]
    set_plan = runner.plan_set(entries, None)
    results = runner.apply_set(set_plan, entries)
    assert results[0]["id"] == "3001" and not set_plan.changed
    assert set_plan.by_outcome(runner.resource.outcome) == {"unchanged": ["Beacon Hall"]}
