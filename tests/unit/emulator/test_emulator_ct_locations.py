"""CT locations: list, pagination, search and sort, CRUD, archive/restore, validation shapes."""

from __future__ import annotations

import time

import pytest
from emulator_testing import TEST_SEED

LOCATION_FIELDS = {
    "id", "archived", "state", "location_name", "slug", "location_address", "street", "town", "postcode", "country", "phone1",
    "location_website", "location_type", "timezone", "development_mode", "daily_limit", "created_at", "updated_at",
    "user_id", "lat", "lng", "clients_total", "clients_online", "boxes_count", "meraki_secret",
}
VALID = {"location_name": "Test Café Central", "location_address": "1 Test Road", "town": "Testville", "postcode": "TE1 1ST", "country": "gb"}


def create(emu, expected=201, **fields):
    return emu.ct_json("POST", "/locations", expected, json={"location": {**VALID, **fields}})


def test_list_has_the_seed_shape_and_default_page_size(emu):
    body = emu.ct_json("GET", "/locations")
    assert set(body) == {"locations", "_links"}
    assert len(body["locations"]) == 15
    assert body["_links"] == {"current_page": 1, "total_pages": 2, "next_page": 2, "total_entries": TEST_SEED.locations, "size": 15}
    location = body["locations"][0]
    assert set(location) == LOCATION_FIELDS
    assert location["id"].isdigit()
    assert location["state"] in ("active", "archived")
    assert location["archived"] is (location["state"] == "archived")


def test_per_is_clamped_to_100_and_next_page_is_null_on_the_last_page(emu):
    for number in range(75):
        create(emu, location_name=f"Bulk location {number:03d}")
    first = emu.ct_json("GET", "/locations", params={"per": 1000})
    assert len(first["locations"]) == 100
    assert first["_links"]["size"] == 100
    assert first["_links"]["total_pages"] == 2
    assert first["_links"]["next_page"] == 2
    last = emu.ct_json("GET", "/locations", params={"per": 1000, "page": 2})
    assert len(last["locations"]) == TEST_SEED.locations + 75 - 100
    assert last["_links"]["next_page"] is None


def test_walking_next_page_returns_every_location_once(emu):
    seen, page = [], 1
    while page:
        body = emu.ct_json("GET", "/locations", params={"per": 7, "page": page})
        seen += [location["id"] for location in body["locations"]]
        page = body["_links"]["next_page"]
    assert len(seen) == len(set(seen)) == TEST_SEED.locations


def test_empty_result_has_zero_total_pages(emu):
    body = emu.ct_json("GET", "/locations", params={"q": "no location is called this"})
    assert body == {"locations": [], "_links": {"current_page": 1, "total_pages": 0, "next_page": None, "total_entries": 0, "size": 15}}


def test_page_past_the_end_is_empty(emu):
    body = emu.ct_json("GET", "/locations", params={"page": 99})
    assert body["locations"] == []
    assert body["_links"]["next_page"] is None


def test_q_matches_name_address_or_town_without_case(emu):
    create(emu, location_name="Zebra Crossing Cafe", location_address="7 Quokka Lane", town="Wombatton")
    for query in ("zebra crossing", "QUOKKA", "wombat"):
        names = [location["location_name"] for location in emu.ct_json("GET", "/locations", params={"q": query})["locations"]]
        assert names == ["Zebra Crossing Cafe"]


def test_sort_and_direction(emu):
    ascending = emu.ct_json("GET", "/locations", params={"sort": "location_name", "per": 100})["locations"]
    names = [location["location_name"] for location in ascending]
    assert names == sorted(names, key=str.casefold)
    descending = emu.ct_json("GET", "/locations", params={"sort": "id", "direction": "desc", "per": 100})["locations"]
    ids = [int(location["id"]) for location in descending]
    assert ids == sorted(ids, reverse=True)


def test_seeded_location_names_are_unique(emu):
    names = [location["location_name"] for location in emu.ct_json("GET", "/locations", params={"per": 100})["locations"]]
    assert len(names) == len(set(names))
    assert all(5 <= len(name) <= 100 for name in names)


def test_get_by_id_or_slug(emu):
    location = emu.ct_json("GET", "/locations")["locations"][0]
    assert emu.ct_json("GET", f"/locations/{location['id']}") == location
    assert emu.ct_json("GET", f"/locations/{location['slug']}") == location


def test_unknown_location_is_404_with_message(emu):
    response = emu.ct_get("/locations/999999")
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


def test_create_returns_201_with_server_fields(emu):
    before = int(time.time())
    location = create(emu, lat=51.5, lng=-0.12, id="42", user_id=1, boxes_count=9, unknown_field="ignored")
    assert set(location) == LOCATION_FIELDS
    assert location["id"].isdigit() and location["id"] != "42"
    assert location["state"] == "active" and location["archived"] is False
    assert location["user_id"] != 1 and location["boxes_count"] == 0
    assert location["slug"].startswith("test-cafe-central-")
    assert location["created_at"] >= before and location["updated_at"] == location["created_at"]
    assert (location["lat"], location["lng"]) == (51.5, -0.12)
    assert emu.ct_json("GET", f"/locations/{location['id']}") == location


def test_names_are_not_unique(emu):
    first = create(emu)
    second = create(emu)
    assert first["id"] != second["id"]
    assert len(emu.ct_json("GET", "/locations", params={"q": VALID["location_name"]})["locations"]) == 2


def test_unique_names_refuse_a_create_or_rename_onto_a_name_in_use(emu):
    emu.configure(unique_location_names=True)
    first = create(emu)
    taken = {"errors": {"location_name": ["has already been taken"]}}
    assert emu.ct_json("POST", "/locations", 422, json={"location": VALID}) == taken
    other = create(emu, location_name="Another Cafe")
    assert emu.ct_json("PATCH", f"/locations/{other['id']}", 422, json={"location": {"location_name": VALID["location_name"]}}) == taken
    emu.ct_json("PATCH", f"/locations/{first['id']}", json={"location": {"state": "archived"}})
    assert emu.ct_json("POST", "/locations", 422, json={"location": VALID}) == taken  # archived names are taken too
    assert emu.ct_json("PATCH", f"/locations/{first['id']}", json={"location": {"location_name": VALID["location_name"]}})["id"] == first["id"]
    assert emu.stats()["writes"]["locations"]["POST"] == 2


def test_admin_stores_a_name_as_another_client_might_have(emu):
    location = create(emu)
    padded = emu.admin("POST", f"ct/locations/{location['id']}", {"location_name": f"  {VALID['location_name']} "})
    assert padded["location_name"] == f"  {VALID['location_name']} " and padded["slug"] == location["slug"]
    assert emu.ct_json("GET", "/locations", params={"location_name": VALID["location_name"]})["locations"] == []


@pytest.mark.parametrize(("fields", "errors"), [
    ({"location_name": "abcd"}, {"location_name": ["is too short (minimum is 5 characters)"]}),
    ({"location_name": "x" * 101}, {"location_name": ["is too long (maximum is 100 characters)"]}),
    ({"location_address": "abc"}, {"location_address": ["is too short (minimum is 5 characters)"]}),
    ({"location_address": "x" * 201}, {"location_address": ["is too long (maximum is 200 characters)"]}),
    ({"town": "ab"}, {"town": ["is too short (minimum is 3 characters)"]}),
    ({"postcode": "ab"}, {"postcode": ["is too short (minimum is 3 characters)"]}),
    ({"postcode": "ABCD 1234"}, {"postcode": ["is too long (maximum is 8 characters)"]}),
    ({"lat": 90.5}, {"lat": ["must be less than or equal to 90"]}),
    ({"lat": -91}, {"lat": ["must be greater than or equal to -90"]}),
    ({"lng": 180.1}, {"lng": ["must be less than or equal to 180"]}),
    ({"lng": "east"}, {"lng": ["is not a number"]}),
    ({"location_name": None, "town": "  "}, {"location_name": ["can't be blank"], "town": ["can't be blank"]}),
])
def test_create_validation_answers_422_with_field_errors(emu, fields, errors):
    assert create(emu, expected=422, **fields) == {"errors": errors}


def test_create_without_required_fields_lists_every_one(emu):
    body = emu.ct_json("POST", "/locations", 422, json={"location": {"street": "x"}})
    assert body == {"errors": {field: ["can't be blank"] for field in ("location_name", "location_address", "town", "postcode", "country")}}


@pytest.mark.parametrize("body", [{}, {"location_name": "No wrapper here"}, {"location": {}}, {"location": "text"}])
def test_body_without_the_rails_wrapper_is_400(emu, body):
    response = emu.ct_request("POST", "/locations", json=body)
    assert response.status_code == 400
    assert response.json() == {"errors": ["param is missing or the value is empty: location"]}


def test_malformed_json_is_400(emu):
    response = emu.ct_request("POST", "/locations", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert isinstance(response.json()["errors"], list)


def test_update_changes_only_the_fields_sent_and_moves_updated_at(emu):
    location = create(emu)
    time.sleep(1.01)  # updated_at has one-second resolution
    updated = emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"town": "Newtown", "postcode": "NT1 2AB"}})
    assert updated["town"] == "Newtown" and updated["postcode"] == "NT1 2AB"
    assert updated["location_name"] == location["location_name"]
    assert updated["updated_at"] > location["updated_at"]
    assert updated["created_at"] == location["created_at"]


def test_update_without_changes_keeps_updated_at(emu):
    location = create(emu)
    same = emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"town": location["town"]}})
    assert same == location


def test_update_validates_the_fields_sent(emu):
    location = create(emu)
    body = emu.ct_json("PATCH", f"/locations/{location['id']}", 422, json={"location": {"postcode": " ", "lat": 100, "country": "GB"}})
    assert body == {"errors": {"postcode": ["can't be blank"], "country": ["is not included in the list"],
                               "lat": ["must be less than or equal to 90"]}}
    assert emu.ct_json("GET", f"/locations/{location['id']}") == location


def test_update_takes_the_settings_form_limits(emu):
    """The settings form allows 255 characters and no minimum (a ZIP+4 postcode, a two-letter town); creating does not."""
    location = create(emu)
    updated = emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"postcode": "94103-1234", "town": "Ur"}})
    assert (updated["postcode"], updated["town"]) == ("94103-1234", "Ur")
    body = emu.ct_json("PATCH", f"/locations/{location['id']}", 422, json={"location": {"location_name": "x" * 256, "town": "t" * 256}})
    assert body == {"errors": {"location_name": ["is too long (maximum is 255 characters)"], "town": ["is too long (maximum is 255 characters)"]}}
    assert create(emu, expected=422, postcode="94103-1234") == {"errors": {"postcode": ["is too long (maximum is 8 characters)"]}}


def test_archive_and_restore(emu):
    location = create(emu)
    archived = emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"state": "archived"}})
    assert (archived["state"], archived["archived"]) == ("archived", True)
    assert emu.ct_json("GET", "/locations", params={"q": VALID["location_name"]})["locations"] == [archived]
    restored = emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"state": "active"}})
    assert (restored["state"], restored["archived"]) == ("active", False)


def test_unknown_state_is_422(emu):
    location = create(emu)
    body = emu.ct_json("PATCH", f"/locations/{location['id']}", 422, json={"location": {"state": "deleted"}})
    assert body == {"errors": {"state": ["is not included in the list"]}}


def test_update_and_delete_take_the_digit_id_not_the_slug(emu):
    location = create(emu)
    assert emu.ct_request("PATCH", f"/locations/{location['slug']}", json={"location": {"town": "Elsewhere"}}).status_code == 404
    assert emu.ct_request("DELETE", f"/locations/{location['slug']}").status_code == 404


def test_delete_removes_the_location_and_its_vouchers_and_unassigns_its_boxes(emu):
    boxes = emu.ct_json("GET", "/boxes", params={"per": 100})["boxes"]
    location_id = next(box["location_id"] for box in boxes if box["location_id"])
    location = emu.ct_json("GET", f"/locations/{location_id}")
    response = emu.ct_request("DELETE", f"/locations/{location_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert emu.ct_get(f"/locations/{location_id}").status_code == 404
    assert emu.ct_get(f"/locations/{location_id}/vouchers").status_code == 404
    state = emu.admin("GET", "state?without=devices")
    assert not [voucher for voucher in state["vouchers"] if voucher["location_id"] == location_id]
    orphans = [box for box in state["boxes"] if box["id"] in {b["id"] for b in boxes if b["location_id"] == location_id}]
    assert orphans and all(box["location_id"] is None and box["location_slug"] is None for box in orphans)
    assert not emu.ct_json("GET", "/boxes", params={"location_id": location["slug"]})["boxes"]


def test_writes_are_counted_per_resource_and_method(emu):
    location = create(emu)
    create(emu, expected=422, town="x")
    emu.ct_json("PATCH", f"/locations/{location['id']}", json={"location": {"town": "Othertown"}})
    emu.ct_request("DELETE", f"/locations/{location['id']}")
    stats = emu.stats()
    assert stats["writes"]["locations"] == {"POST": 1, "PATCH": 1, "DELETE": 1}
    assert stats["writes_total"] == 3
    assert stats["requests"]["POST /ct-api/api/v1/locations"] == 2
    assert stats["requests"]["PATCH /ct-api/api/v1/locations/<ref>"] == 1


def test_location_name_finds_exactly_that_name_at_once(emu):
    """The dashboard's goLocation filter: exact, case and all, in both dialects; the legacy q is a substring."""
    created = create(emu, location_name="Exact Match Arcade")
    create(emu, location_name="Exact Match Arcade Annexe")
    found = emu.ct_json("GET", "/locations", params={"location_name": "Exact Match Arcade"})["locations"]
    assert [item["id"] for item in found] == [created["id"]]
    assert emu.ct_json("GET", "/locations", params={"location_name": "exact match arcade"})["locations"] == []
    assert len(emu.ct_json("GET", "/locations", params={"q": "exact match arcade"})["locations"]) == 2


def test_the_legacy_dialect_deletes_a_location_with_session_data_and_keeps_its_slug(emu):
    seeded = next(loc for loc in emu.ct_json("GET", "/locations", params={"per": 100})["locations"] if loc["clients_total"] > 0)
    renamed = emu.ct_json("PATCH", f"/locations/{seeded['id']}", json={"location": {"location_name": "Renamed Legacy Hall"}})
    assert renamed["slug"] == seeded["slug"]
    assert emu.ct_request("DELETE", f"/locations/{seeded['id']}").status_code == 204
